/**
 * Runs job functions on command (issue 5): concurrently up to `maxConcurrent` (default 8),
 * the rest wait in FIFO order. Every job ends in exactly one `jobReturn` report: its result,
 * a clear error (unknown function, bad argument, exception), `cancelled`, or `timed out`.
 *
 * A jid is run at most once per minion lifetime: a repeated `runJob` (the server resending
 * after a restart) while it runs is ignored, and after it finished re-reports the same return,
 * so the server's idempotent handler sees one result.
 */
import {
  MAX_JOB_RETURN_WIRE_BYTES,
  wireSizeBound,
  type CancelJobCommand,
  type Grains,
  type MinionReport,
  type RunJobCommand,
} from '../../actors/index.js';
import { builtinJobFunctions, failure, JobArgumentError, type JobFunction, type JobOutcome } from './job-functions.js';
import { silentLogger, type Logger } from '../../store/index.js';
import type { Supervisor } from './supervisor.js';
import { createAccountResolver, type AccountResolver } from './accounts.js';

export interface JobRunnerOptions {
  minionId: string;
  report: (report: MinionReport) => void;
  grains: () => Grains;
  supervisor?: Supervisor | null;
  maxConcurrent?: number;
  /** extra or replacement functions (tests, plugins) */
  functions?: Record<string, JobFunction>;
  /** how many finished jids to remember for duplicate detection */
  rememberFinished?: number;
  logger?: Logger;
  /** which OS account commands run as (accounts.ts; default: never root, `nobody` when the minion is root) */
  accounts?: AccountResolver;
}

interface ActiveJob {
  command: RunJobCommand;
  controller: AbortController;
  state: 'queued' | 'running';
  /** why the job was stopped early, if it was */
  stoppedBy: 'cancel' | 'timeout' | null;
  timer: NodeJS.Timeout | null;
}

export const CANCELLED_RETCODE = 130;
export const TIMEOUT_RETCODE = 124;

export class JobRunner {
  private readonly functions: Record<string, JobFunction>;
  private readonly maxConcurrent: number;
  private readonly active = new Map<string, ActiveJob>();
  /** FIFO of queued jids; `queueHead` avoids O(n) Array.shift on a long queue */
  private queue: string[] = [];
  private queueHead = 0;
  private runningCount = 0;
  private readonly finished = new Map<string, Extract<MinionReport, { kind: 'jobReturn' }>>();
  private readonly logger: Logger;
  private readonly accounts: AccountResolver;

  constructor(private readonly options: JobRunnerOptions) {
    this.accounts = options.accounts ?? createAccountResolver();
    this.functions = { ...builtinJobFunctions, ...options.functions };
    this.maxConcurrent = Math.max(1, options.maxConcurrent ?? 8);
    this.logger = options.logger ?? silentLogger;
  }

  run(command: RunJobCommand): void {
    const key = jobKey(command.tenant, command.jid);
    if (this.active.has(key)) return this.logger.debug({ jid: command.jid }, 'job already running: duplicate ignored');
    const done = this.finished.get(key);
    if (done) return this.options.report(done);
    const job: ActiveJob = { command, controller: new AbortController(), state: 'queued', stoppedBy: null, timer: null };
    this.active.set(key, job);
    if (command.timeoutMs > 0) {
      job.timer = setTimeout(() => this.stopEarly(key, 'timeout'), command.timeoutMs);
      job.timer.unref();
    }
    this.queue.push(key);
    this.pump();
  }

  /** Stops a queued or running job; it returns a cancelled result. Unknown jids are ignored. */
  cancel(command: CancelJobCommand): void {
    this.stopEarly(jobKey(command.tenant, command.jid), 'cancel');
  }

  /** jobs queued or running now */
  list(): { tenant: string; jid: string; fun: string; state: 'queued' | 'running' }[] {
    return [...this.active.values()].map((job) => ({
      tenant: job.command.tenant,
      jid: job.command.jid,
      fun: job.command.fun,
      state: job.state,
    }));
  }

  /** Cancels everything (minion shutdown). */
  cancelAll(): void {
    for (const key of [...this.active.keys()]) this.stopEarly(key, 'cancel');
  }

  private stopEarly(key: string, why: 'cancel' | 'timeout'): void {
    const job = this.active.get(key);
    if (!job || job.stoppedBy) return;
    job.stoppedBy = why;
    if (job.state === 'queued') {
      // not started: nothing to abort, answer now (its queue slot is skipped by pump)
      this.finish(key, job, this.stoppedOutcome(job), Date.now());
    } else {
      job.controller.abort();
    }
  }

  private stoppedOutcome(job: ActiveJob): JobOutcome {
    const { jid, timeoutMs } = job.command;
    return job.stoppedBy === 'timeout'
      ? failure(`job ${jid} timed out after ${timeoutMs} ms`, TIMEOUT_RETCODE)
      : failure(`job ${jid} was cancelled`, CANCELLED_RETCODE);
  }

  private pump(): void {
    while (this.runningCount < this.maxConcurrent && this.queueHead < this.queue.length) {
      const key = this.queue[this.queueHead++]!;
      const job = this.active.get(key);
      if (!job || job.state !== 'queued') continue;
      void this.execute(key, job);
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private async execute(key: string, job: ActiveJob): Promise<void> {
    job.state = 'running';
    this.runningCount += 1;
    const started = Date.now();
    const { command } = job;
    const fn = Object.prototype.hasOwnProperty.call(this.functions, command.fun) ? this.functions[command.fun] : undefined;
    let outcome: JobOutcome;
    try {
      if (!fn) {
        outcome = failure(`'${command.fun}' is not available. Functions: ${Object.keys(this.functions).sort().join(', ')}`);
      } else {
        outcome = await Promise.resolve().then(() =>
          fn({
            tenant: command.tenant,
            jid: command.jid,
            args: command.args,
            timeoutMs: command.timeoutMs,
            signal: job.controller.signal,
            grains: this.options.grains,
            supervisor: this.options.supervisor ?? null,
            account: () => this.accounts({ tenant: command.tenant, user: command.user, group: command.group }),
          }),
        );
      }
    } catch (error) {
      outcome =
        error instanceof JobArgumentError
          ? failure(error.message)
          : failure(`${command.fun} failed: ${(error as Error)?.message ?? String(error)}`);
    }
    this.runningCount -= 1;
    // A function that noticed the abort returns normally; its result is replaced by the reason.
    this.finish(key, job, job.stoppedBy ? this.stoppedOutcome(job) : outcome, started);
    this.pump();
  }

  private finish(key: string, job: ActiveJob, outcome: JobOutcome, started: number): void {
    if (this.active.get(key) !== job) return;
    this.active.delete(key);
    if (job.timer) clearTimeout(job.timer);
    outcome = fitReturn(job.command.fun, outcome);
    const report: Extract<MinionReport, { kind: 'jobReturn' }> = {
      kind: 'jobReturn',
      tenant: job.command.tenant,
      jid: job.command.jid,
      minion: this.options.minionId,
      return: outcome.return,
      retcode: outcome.retcode,
      success: outcome.success,
      durationMs: Date.now() - started,
    };
    // Remember small returns whole; a big one (cmd.run output) only as a note, so the memory
    // of finished jids stays bounded (the full return is still delivered reliably once).
    this.finished.set(key, returnSize(report.return) <= MAX_REMEMBERED_RETURN_CHARS ? report : { ...report, return: FORGOTTEN_RETURN });
    const remember = this.options.rememberFinished ?? 1000;
    if (this.finished.size > remember) this.finished.delete(this.finished.keys().next().value!);
    this.options.report(report);
  }
}

/**
 * A return that would not fit one minion frame (actors/minion/limits.ts) is replaced by
 * `{truncated: true, originalBytes, head}`: `head` is the start of its JSON text. cmd.run cuts
 * its own output before this (keeping its shape); this catches every other function. A value
 * that is not data (cyclic, BigInt) becomes a failed return saying so.
 */
export function fitReturn(fun: string, outcome: JobOutcome): JobOutcome {
  if (wireSizeBound(outcome.return, MAX_JOB_RETURN_WIRE_BYTES) <= MAX_JOB_RETURN_WIRE_BYTES) return outcome;
  let json: string | undefined;
  try {
    json = JSON.stringify(outcome.return);
  } catch (error) {
    return failure(`${fun} returned a value that cannot be sent: ${(error as Error)?.message ?? String(error)}`);
  }
  const text = json ?? 'null';
  const bytes = Buffer.from(text, 'utf8');
  // the head plus the other fields stay well inside the budget (1 KiB spare)
  let end = Math.min(bytes.length, MAX_JOB_RETURN_WIRE_BYTES - 1024);
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return { ...outcome, return: { truncated: true, originalBytes: bytes.length, head: bytes.subarray(0, end).toString('utf8') } };
}

const MAX_REMEMBERED_RETURN_CHARS = 16 * 1024;
export const FORGOTTEN_RETURN = '[corral: this return was reported before and is too large to be kept for a resend]';
function returnSize(value: unknown): number {
  if (typeof value === 'string') return value.length;
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return Infinity;
  }
}

const jobKey = (tenant: string, jid: string): string => `${tenant}:${jid}`;
