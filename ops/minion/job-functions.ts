/**
 * The job functions a minion runs (docs/architecture.md "Views"): `test.ping`, `test.sleep`, `test.echo`,
 * `cmd.run`, `grains.items`, `proc.list`. Each resolves to an outcome, never rejects for a
 * bad argument (that is the minion's failed return, with a message saying what was wrong),
 * and stops promptly when its AbortSignal fires.
 */
import { spawn } from 'node:child_process';
import { MAX_JOB_RETURN_WIRE_BYTES, type Grains } from '../../actors/index.js';
import type { Supervisor } from './supervisor.js';
import { defaultBaseEnv } from './supervisor.js';
import { accountSpawnOptions, type RunAccount } from './accounts.js';

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
  /** the OS account commands run as (accounts.ts; null: the minion's own); throws if it cannot be used */
  account: () => RunAccount | null;
}
export type JobFunction = (context: JobContext) => Promise<JobOutcome>;

/**
 * cmd.run keeps at most this many bytes of stdout and stderr together: its return travels in
 * one minion frame (actors/minion/limits.ts), with room left for the other fields and the
 * truncation markers. A return that did not fit would never be delivered (README "Run a job").
 */
export const CMD_OUTPUT_CAP_BYTES = MAX_JOB_RETURN_WIRE_BYTES - 1024;
export const truncationMarker = (kept: number, original: number): string => `\n[corral: output truncated at ${kept} of ${original} bytes]`;

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

/** One output stream: its first `cap` bytes and how many bytes it wrote in all. */
class CappedBytes {
  private readonly chunks: Buffer[] = [];
  /** bytes kept */
  collected = 0;
  /** every byte the command wrote, kept or not */
  total = 0;
  constructor(private readonly cap: number) {}
  push(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.cap - this.collected;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.collected += kept.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** `text` cut to at most `maxBytes` of UTF-8, never inside a character. */
function cutUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * stdout and stderr sharing `cap` bytes: a stream within half of it is kept whole and the
 * other gets the rest. Counted in UTF-8 bytes of the decoded text (invalid bytes become
 * 3-byte replacement characters), which is what the return takes in a frame.
 */
function fitOutput(stdout: CappedBytes, stderr: CappedBytes, cap: number): Pick<CmdReturn, 'stdout' | 'stderr' | 'truncated' | 'originalBytes'> {
  const texts = [stdout.text(), stderr.text()];
  const sizes = texts.map((text) => Buffer.byteLength(text, 'utf8'));
  const [a, b] = sizes as [number, number];
  const half = Math.floor(cap / 2);
  const keep = a + b <= cap ? [a, b] : a <= half ? [a, cap - a] : b <= half ? [cap - b, b] : [half, cap - half];
  const streams = [stdout, stderr];
  let truncated = false;
  const out = texts.map((text, i) => {
    const stream = streams[i]!;
    // whole: nothing was dropped while collecting and the text fits its share
    if (stream.collected === stream.total && sizes[i]! <= keep[i]!) return text;
    truncated = true;
    const kept = cutUtf8(text, keep[i]!);
    return kept + truncationMarker(Buffer.byteLength(kept, 'utf8'), stream.total);
  });
  return truncated
    ? { stdout: out[0]!, stderr: out[1]!, truncated: true, originalBytes: { stdout: stdout.total, stderr: stderr.total } }
    : { stdout: out[0]!, stderr: out[1]! };
}

interface CmdReturn {
  stdout: string;
  stderr: string;
  retcode: number;
  /** present (true) when stdout or stderr was cut to fit the return into a minion frame */
  truncated?: true;
  /** with `truncated`: the bytes the command wrote to each stream */
  originalBytes?: { stdout: number; stderr: number };
  timedOut?: string;
  signal?: string;
}

/** Runs `/bin/sh -c <command>` in its own process group; the group is killed on timeout or cancel. */
const cmdRun: JobFunction = ({ args, timeoutMs, signal, account }) => {
  if (typeof args[0] !== 'string' || args[0].trim() === '') {
    throw new JobArgumentError(`cmd.run: argument 1 must be a non-empty command string, got ${JSON.stringify(args[0] ?? null)}`);
  }
  const command = args[0];
  const options = cmdRunOptions(args, timeoutMs);
  if (signal.aborted) return Promise.resolve(failure('cmd.run: cancelled before it started'));
  let runAs: ReturnType<typeof accountSpawnOptions>;
  try {
    runAs = accountSpawnOptions(account(), options.cwd);
  } catch (error) {
    return Promise.resolve(failure(`cmd.run: ${(error as Error).message}`));
  }
  return new Promise<JobOutcome>((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: runAs.cwd,
      ...runAs.ids,
      env: { ...defaultBaseEnv(), ...runAs.envDefaults, ...options.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout = new CappedBytes(CMD_OUTPUT_CAP_BYTES);
    const stderr = new CappedBytes(CMD_OUTPUT_CAP_BYTES);
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
      const output = fitOutput(stdout, stderr, CMD_OUTPUT_CAP_BYTES);
      const result: CmdReturn = { stdout: output.stdout, stderr: output.stderr, retcode };
      if (output.truncated) Object.assign(result, { truncated: true, originalBytes: output.originalBytes });
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
