/**
 * The job functions a minion runs (DESIGN.md §4): `test.ping`, `test.sleep`, `test.echo`,
 * `cmd.run`, `grains.items`, `proc.list`. Each resolves to an outcome, never rejects for a
 * bad argument (that is the minion's failed return, with a message saying what was wrong),
 * and stops promptly when its AbortSignal fires.
 */
import { spawn } from 'node:child_process';
import type { Grains } from '../../actors/index.js';
import type { Supervisor } from './supervisor.js';
import { defaultBaseEnv } from './supervisor.js';

export interface JobOutcome {
  return: unknown;
  retcode: number;
  success: boolean;
}
export interface JobContext {
  tenant: string;
  jid: string;
  args: unknown[];
  /** the job's own deadline (0: none); cmd.run uses it as its default timeout */
  timeoutMs: number;
  signal: AbortSignal;
  grains: () => Grains;
  supervisor: Supervisor | null;
}
export type JobFunction = (context: JobContext) => Promise<JobOutcome>;

/** cmd.run keeps at most this many bytes of each of stdout and stderr */
export const CMD_OUTPUT_CAP_BYTES = 1024 * 1024;
export const truncationMarker = (cap: number): string => `\n[corral: output truncated at ${cap} bytes]`;

export const ok = (value: unknown): JobOutcome => ({ return: value, retcode: 0, success: true });
export const failure = (message: string, retcode = 1): JobOutcome => ({ return: message, retcode, success: false });

/** Thrown inside a function for a bad argument: becomes a failed return with its message. */
export class JobArgumentError extends Error {}

function numberArgument(value: unknown, what: string): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) {
    throw new JobArgumentError(`${what} must be a non-negative number, got ${JSON.stringify(value)}`);
  }
  return number;
}

const testSleep: JobFunction = async ({ args, signal }) => {
  const seconds = numberArgument(args[0], 'test.sleep: seconds (argument 1)');
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, seconds * 1000);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return ok(true);
};

interface CmdRunOptions {
  timeoutMs: number;
  cwd: string | undefined;
  env: Record<string, string>;
}

/** `cmd.run <command> [{timeout (s), timeoutMs, cwd, env} | "timeout=<s>" | "cwd=<dir>"]` */
function cmdRunOptions(args: unknown[], jobTimeoutMs: number): CmdRunOptions {
  const options: CmdRunOptions = { timeoutMs: jobTimeoutMs > 0 ? jobTimeoutMs : 0, cwd: undefined, env: {} };
  for (const [index, extra] of args.slice(1).entries()) {
    const where = `cmd.run: argument ${index + 2}`;
    if (typeof extra === 'string') {
      const match = /^(timeout|cwd)=(.*)$/.exec(extra);
      if (!match) throw new JobArgumentError(`${where}: expected timeout=<seconds> or cwd=<dir>, got ${JSON.stringify(extra)}`);
      if (match[1] === 'timeout') options.timeoutMs = numberArgument(match[2], `${where} timeout`) * 1000;
      else options.cwd = match[2];
    } else if (extra !== null && typeof extra === 'object' && !Array.isArray(extra)) {
      const record = extra as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!['timeout', 'timeoutMs', 'cwd', 'env'].includes(key)) throw new JobArgumentError(`${where}: unknown option ${JSON.stringify(key)}`);
      }
      if (record.timeout !== undefined) options.timeoutMs = numberArgument(record.timeout, `${where} timeout`) * 1000;
      if (record.timeoutMs !== undefined) options.timeoutMs = numberArgument(record.timeoutMs, `${where} timeoutMs`);
      if (record.cwd !== undefined) {
        if (typeof record.cwd !== 'string') throw new JobArgumentError(`${where}: cwd must be a string`);
        options.cwd = record.cwd;
      }
      if (record.env !== undefined) {
        const env = record.env as Record<string, unknown>;
        if (env === null || typeof env !== 'object' || Object.values(env).some((v) => typeof v !== 'string')) {
          throw new JobArgumentError(`${where}: env must map names to strings`);
        }
        options.env = env as Record<string, string>;
      }
    } else {
      throw new JobArgumentError(`${where}: expected an options object or key=value string`);
    }
  }
  return options;
}

class CappedText {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly cap: number) {}
  push(chunk: Buffer): void {
    if (this.size >= this.cap) {
      this.truncated ||= chunk.length > 0;
      return;
    }
    const room = this.cap - this.size;
    if (chunk.length > room) this.truncated = true;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }
  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? text + truncationMarker(this.cap) : text;
  }
}

/** Runs `/bin/sh -c <command>` in its own process group; the group is killed on timeout or cancel. */
const cmdRun: JobFunction = ({ args, timeoutMs, signal }) => {
  if (typeof args[0] !== 'string' || args[0].trim() === '') {
    throw new JobArgumentError(`cmd.run: argument 1 must be a non-empty command string, got ${JSON.stringify(args[0] ?? null)}`);
  }
  const command = args[0];
  const options = cmdRunOptions(args, timeoutMs);
  if (signal.aborted) return Promise.resolve(failure('cmd.run: cancelled before it started'));
  return new Promise<JobOutcome>((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: { ...defaultBaseEnv(), ...options.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout = new CappedText(CMD_OUTPUT_CAP_BYTES);
    const stderr = new CappedText(CMD_OUTPUT_CAP_BYTES);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let stoppedBy: 'timeout' | 'cancel' | null = null;
    const killGroup = (why: 'timeout' | 'cancel'): void => {
      stoppedBy ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {}
    };
    const timer = options.timeoutMs > 0 ? setTimeout(() => killGroup('timeout'), options.timeoutMs) : null;
    const onAbort = (): void => killGroup('cancel');
    signal.addEventListener('abort', onAbort);
    const finish = (outcome: JobOutcome): void => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    child.once('error', (error) => finish(failure(`cmd.run: cannot run /bin/sh: ${error.message}`)));
    // 'close' waits for the pipes; a daemon the command left behind may hold them, so give up on
    // them shortly after the shell itself exited.
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let done = false;
    const complete = (): void => {
      if (done) return;
      done = true;
      child.stdout.destroy();
      child.stderr.destroy();
      const retcode = exitCode ?? (stoppedBy === 'timeout' ? 124 : 128 + 9);
      const result: Record<string, unknown> = { stdout: stdout.text(), stderr: stderr.text(), retcode };
      if (stoppedBy === 'timeout') result.timedOut = `killed after ${options.timeoutMs} ms`;
      if (exitSignal && !stoppedBy) result.signal = exitSignal;
      finish({ return: result, retcode, success: retcode === 0 && stoppedBy === null });
    };
    child.once('exit', (code, killedBy) => {
      exitCode = code;
      exitSignal = killedBy;
      setTimeout(complete, 100).unref();
    });
    child.once('close', complete);
  });
};

export const builtinJobFunctions: Record<string, JobFunction> = {
  'test.ping': async () => ok(true),
  'test.echo': async ({ args }) => ok(args.length === 1 ? args[0] : args),
  'test.sleep': testSleep,
  'cmd.run': cmdRun,
  'grains.items': async ({ grains }) => ok(grains()),
  'proc.list': async ({ supervisor, tenant }) => ok(supervisor ? supervisor.list(tenant) : []),
};
