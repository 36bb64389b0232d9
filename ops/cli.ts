import { isCorralError } from '../store/index.js';
import { UsageError } from './commands/usage.js';

/** A subcommand: its usage line for --help, and a lazily loaded implementation. */
export interface Command {
  summary: string;
  load: () => Promise<{ usage: string; run(argv: string[]): Promise<number> }>;
  /** another name for the command of this name (listed, but its usage printed once) */
  aliasOf?: string;
}

const ps = (): Promise<{ usage: string; run(argv: string[]): Promise<number> }> => import('./commands/ps.js');

/**
 * The `corral` command line (README "CLI" and "Configuration"). Adding a subcommand is one entry here plus
 * its module in `ops/commands/`; `--help` lists exactly the commands in this table, so
 * only working commands are shown.
 */
export const COMMANDS: Record<string, Command> = {
  serve: { summary: 'run a control-plane node', load: () => import('./commands/serve.js') },
  token: { summary: 'mint a token signed with <dataDir>/secret', load: () => import('./commands/token.js') },
  'hash-password': { summary: 'print a scrypt hash for auth.users', load: () => import('./commands/hash-password.js') },
  minion: { summary: 'run the minion agent: spawn and supervise processes, run jobs', load: () => import('./minion/index.js') },
  ctl: { summary: 'control a running server through <dataDir>/corral.sock', load: () => import('./commands/ctl.js') },
  jobs: { summary: 'run a job on minions and print their returns', load: () => import('./commands/jobs.js') },
  events: { summary: 'print (and follow) the event history as NDJSON', load: () => import('./commands/events.js') },
  completion: { summary: 'print a bash or zsh completion script', load: () => import('./commands/completion.js') },
  ps: { summary: 'list processes: state, pid, uptime, restarts, CPU, memory', load: ps },
  status: { summary: 'the same as ps', load: ps, aliasOf: 'ps' },
  start: { summary: "start a watcher's processes", load: () => import('./commands/start.js') },
  stop: { summary: "stop a watcher's processes", load: () => import('./commands/stop.js') },
  restart: { summary: 'restart a watcher (or one slot): new processes', load: () => import('./commands/restart.js') },
  reload: { summary: 'rolling restart, each new process ready before the old one stops', load: () => import('./commands/reload.js') },
  kill: { summary: 'send a signal to a process (or every slot of a watcher)', load: () => import('./commands/kill.js') },
  scale: { summary: "set a watcher's number of processes", load: () => import('./commands/scale.js') },
  add: { summary: 'create a watcher running CMD', load: () => import('./commands/add.js') },
  rm: { summary: 'destroy a watcher and its processes', load: () => import('./commands/rm.js') },
  apply: { summary: "make tenants' watchers what a YAML file declares (diff, confirm, apply)", load: () => import('./commands/apply.js') },
  logs: { summary: "print (and follow) a process's or a watcher's log lines", load: () => import('./commands/logs.js') },
};

async function help(): Promise<string> {
  const lines = ['usage: corral <command> [options]', '', 'commands:'];
  for (const [name, command] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(15)} ${command.summary}`);
  lines.push('', 'usage:');
  for (const command of Object.values(COMMANDS)) if (!command.aliasOf) lines.push(`  ${(await command.load()).usage}`);
  return `${lines.join('\n')}\n`;
}

/** Runs a command; sets process.exitCode (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length > 0) {
    // `corral help COMMAND`: that command's usage, as `corral COMMAND --help` prints it
    const command = Object.hasOwn(COMMANDS, rest[0]!) ? COMMANDS[rest[0]!] : undefined;
    if (!command) {
      process.stderr.write(`corral help: unknown command ${JSON.stringify(rest[0])}\n\n${await help()}`);
      process.exitCode = 2;
      return;
    }
    process.stdout.write(`usage: ${(await command.load()).usage}\n`);
    return;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(await help());
    process.exitCode = name === undefined ? 2 : 0;
    return;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`corral: unknown command ${JSON.stringify(name)}\n\n${await help()}`);
    process.exitCode = 2;
    return;
  }
  const module = await command.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: ${module.usage}\n`);
    return;
  }
  let code: number;
  try {
    code = await module.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`corral ${name}: ${error.message}\nusage: ${module.usage}\n`);
      code = 2;
    } else if (isCorralError(error)) {
      process.stderr.write(`corral ${name}: ${error.message}\n`);
      code = 1;
    } else {
      throw error;
    }
  }
  process.exitCode = code;
  // A server leaves sockets (keep-alive clients, the store) that must not hold the exit.
  if (name === 'serve') process.exit(code);
}
