// The minion agent (`corral minion`, and the local minion `corral serve` starts): supervisor,
// job functions, grains, and the websocket client of the `/minion` protocol.
import { NAME_PATTERN } from '../../gateway/minion/index.js';
import { createLogger, LOG_LEVELS } from '../logging.js';
import { MinionAgent, minionUrl, type MinionAgentOptions } from './agent.js';
import { parseGrainArguments } from './grains.js';

export { defaultMinionId } from '../../actors/index.js';
export { MinionAgent, minionUrl, type MinionAgentOptions, type AgentState, type AgentResult } from './agent.js';
export { Supervisor, defaultBaseEnv, isSignalName, type SupervisorOptions, type SupervisedProcessInfo } from './supervisor.js';
export { JobRunner, CANCELLED_RETCODE, TIMEOUT_RETCODE, type JobRunnerOptions } from './jobs.js';
export { builtinJobFunctions, CMD_OUTPUT_CAP_BYTES, type JobFunction, type JobContext, type JobOutcome } from './job-functions.js';
export { collectGrains, parseGrainArguments, parseGrainValue } from './grains.js';
export { ReportOutbox, type OutboxOptions } from './outbox.js';

/** Creates and starts an agent. It runs until `agent.shutdown()` or a fatal close (`agent.done`). */
export function runMinion(options: MinionAgentOptions): MinionAgent {
  return new MinionAgent(options).start();
}

export const MINION_USAGE = `usage: corral minion --server URL --token TOKEN [--id ID] [--tenant T ...] [--grain k=v ...]
                     [--max-jobs N] [--stats-interval-ms MS] [--log-level LEVEL]

  --server URL     the server (http://host:port); CORRAL_SERVER if not given
  --server-file F  instead of --server: a JSON file with the server's "url" (<dataDir>/server.json),
                   re-read before every reconnect (follows a server restarted on another port);
                   exits (code 2) once the file's directory is gone
  --token TOKEN    a token granting the tenants to serve; CORRAL_TOKEN if not given
  --token-file F   instead of --token: a file holding the token, re-read before every reconnect
  --id ID          minion id (default: the host name); owned by the credential that first
                   connects as it, or by minion tokens for it (corral token --minion ID)
  --tenant T       serve only these tenants (repeatable or comma list; default: all the token grants)
  --grain k=v      custom grain (repeatable); numbers and true/false are typed
SIGTERM/SIGINT stop every managed process (stop signal, then SIGKILL) and exit.`;

export interface MinionCommandLine extends MinionAgentOptions {
  logLevel: string;
}

/** Parses `corral minion` arguments; throws an Error whose message says which argument is wrong. */
export function parseMinionArguments(argv: string[], env: NodeJS.ProcessEnv = process.env): MinionCommandLine {
  const tenants: string[] = [];
  const grainArgs: string[] = [];
  let server = env.CORRAL_SERVER;
  let token = env.CORRAL_TOKEN;
  let serverFile: string | undefined;
  let tokenFile: string | undefined;
  let id: string | undefined;
  let logLevel = env.CORRAL_LOG_LEVEL ?? 'info';
  let maxJobs: number | undefined;
  let statsIntervalMs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new Error(`${flag} needs a value`);
      return v;
    };
    const count = (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} ${JSON.stringify(v)}: expected a non-negative integer`);
      return n;
    };
    switch (flag) {
      case '--server': server = value(); break;
      case '--token': token = value(); break;
      case '--server-file': serverFile = value(); break;
      case '--token-file': tokenFile = value(); break;
      case '--id': id = value(); break;
      case '--tenant': tenants.push(...value().split(',').filter(Boolean)); break;
      case '--grain': grainArgs.push(value()); break;
      case '--log-level': logLevel = value(); break;
      case '--max-jobs': maxJobs = count(value()); break;
      case '--stats-interval-ms': statsIntervalMs = count(value()); break;
      default: throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (serverFile) server = undefined;
  if (tokenFile) token = undefined;
  if (!server && !serverFile) throw new Error('--server is required (or --server-file, or set CORRAL_SERVER)');
  if (!token && !tokenFile) throw new Error('--token is required (or --token-file, or set CORRAL_TOKEN)');
  if (server) minionUrl(server); // throws a message naming --server
  if (id !== undefined && !NAME_PATTERN.test(id)) throw new Error(`--id ${JSON.stringify(id)}: minion ids match ${NAME_PATTERN.source}`);
  for (const tenant of tenants) {
    if (!NAME_PATTERN.test(tenant)) throw new Error(`--tenant ${JSON.stringify(tenant)}: tenant names match ${NAME_PATTERN.source}`);
  }
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new Error(`--log-level ${JSON.stringify(logLevel)}: expected one of ${LOG_LEVELS.join(', ')}`);
  if (maxJobs === 0) throw new Error('--max-jobs must be at least 1');
  const options: MinionCommandLine = { tenants, grains: parseGrainArguments(grainArgs), logLevel };
  if (server) options.server = server;
  if (serverFile) options.serverFile = serverFile;
  if (token) options.token = token;
  if (tokenFile) options.tokenFile = tokenFile;
  if (id !== undefined) options.id = id;
  if (maxJobs !== undefined) options.maxConcurrentJobs = maxJobs;
  if (statsIntervalMs !== undefined) options.supervisor = { statsIntervalMs };
  return options;
}

/**
 * `corral minion ...`: runs the agent until SIGTERM/SIGINT (exit code 0, managed processes
 * stopped) or a fatal refusal by the server (bad token, no tenant, incompatible protocol:
 * exit code 2, managed processes stopped). A lost id (4409 replaced, 4403 bound to another
 * credential) is not fatal: the processes keep running and the agent retries later. Bad
 * arguments: exit code 2 with usage.
 */
export async function runMinionCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${MINION_USAGE}\n`);
    return 0;
  }
  let options: MinionCommandLine;
  try {
    options = parseMinionArguments(argv);
    options.logger = createLogger({ level: options.logLevel, name: 'corral-minion' });
  } catch (error) {
    process.stderr.write(`corral minion: ${(error as Error).message}\n${MINION_USAGE}\n`);
    return 2;
  }
  let agent: MinionAgent;
  try {
    agent = runMinion(options);
  } catch (error) {
    process.stderr.write(`corral minion: ${(error as Error).message}\n`);
    return 2;
  }
  options.logger.info({ minion: agent.id, server: options.server ?? options.serverFile, pid: process.pid }, 'minion starting');
  const onSignal = (signal: NodeJS.Signals): void => {
    options.logger?.info({ signal }, 'stopping managed processes and exiting');
    void agent.shutdown({ stopProcesses: true });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const result = await agent.done;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  if (result.fatal === null) return 0;
  await agent.supervisor.stopAll();
  process.stderr.write(`corral minion: ${result.fatal}\n`);
  return 2;
}

/** The CLI's command table (ops/cli.ts) loads this module and calls `run`; `usage` is README "CLI" and "Configuration"'s line. */
export const usage = 'corral minion --server URL --token TOKEN [--id ID] [--tenant T] [--grain k=v ...]  (or --server-file F, --token-file F)';
export const run = runMinionCommand;
export const minionCommand = {
  name: 'minion',
  summary: 'run the minion agent: spawn and supervise processes, run jobs for a server',
  usage,
  run: runMinionCommand,
} as const;
