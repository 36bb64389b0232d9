import {
  isEventTooLargeError,
  isWrongExpectedRevisionError,
  jobKey,
  jobStream,
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
} from '../../store/index.js';
import type { Logger } from '../runtime/engine.js';
import { decideJob, type IgnoredReason, type JobCommand } from './decide.js';
import type { JobEvent } from './events.js';
import { jobStatus, type JobEffect, type JobSnapshot, type JobStatus, type JobStepper } from './machine.js';

/** The job actor logs like the rest of the actors (pino fits). */

export interface JobActorDeps {
  store: EventStore;
  /** steps the job machine that has this service's effects provided */
  stepper: JobStepper;
  node: string;
  logger: Logger;
}

export interface JobCommandResult {
  state: JobStatus;
  /** positions of the events this command recorded (none when ignored) */
  positions: number[];
  ignored?: IgnoredReason;
}

interface QueuedCommand {
  command: JobCommand;
  principal: string;
  resolve(result: JobCommandResult): void;
  reject(error: unknown): void;
}

/** Conflicts mean another writer moved the stream; re-reading and re-deciding converges quickly. */
const MAX_CONFLICT_RETRIES = 5;
const READ_PAGE = 1000;

/**
 * One job: its folded state, its stream revision and a mailbox. Commands are decided one
 * batch at a time: everything queued while an append was in flight is decided together and
 * appended as one atomic write (three returns racing in become one append), with the
 * expected revision; effects run only after the append is durable.
 */
export class JobActor {
  readonly key: string;
  readonly stream: string;
  snapshot: JobSnapshot;
  /** revision of the last event folded, -1 for none */
  revision = -1;
  private mailbox: QueuedCommand[] = [];
  private draining: Promise<void> | null = null;

  constructor(
    private readonly deps: JobActorDeps,
    readonly tenant: string,
    readonly jid: string,
  ) {
    this.key = jobKey(tenant, jid);
    this.stream = jobStream(tenant, jid);
    this.snapshot = deps.stepper.initial(tenant, jid);
  }

  get status(): JobStatus {
    return jobStatus(this.snapshot);
  }

  /** Folds recorded events without running effects (rehydration, catching up after a conflict). */
  replay(events: readonly RecordedEvent[]): void {
    for (const recorded of events) {
      if (recorded.revision <= this.revision) continue;
      [this.snapshot] = this.deps.stepper.step(this.snapshot, { action: recorded.action, data: recorded.data } as JobEvent);
      this.revision = recorded.revision;
    }
  }

  /** Reads the stream after what has been folded. */
  async catchUp(): Promise<void> {
    for (;;) {
      const events = await this.deps.store.readStream(this.stream, { afterRevision: this.revision, limit: READ_PAGE });
      this.replay(events);
      if (events.length < READ_PAGE) return;
    }
  }

  enqueue(command: JobCommand, principal: string): Promise<JobCommandResult> {
    return new Promise((resolve, reject) => {
      this.mailbox.push({ command, principal, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** Resolves when the mailbox is empty. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.mailbox.length > 0) {
        const batch = this.mailbox;
        this.mailbox = [];
        await this.processBatch(batch);
      }
    } finally {
      this.draining = null;
    }
  }

  private async processBatch(batch: QueuedCommand[]): Promise<void> {
    try {
      await this.decideAndAppend(batch);
    } catch (error) {
      if (isEventTooLargeError(error) && batch.length > 1) {
        // find the one command that is too large; the others still get recorded
        for (const queued of batch) await this.processBatch([queued]);
        return;
      }
      const only = batch[0] as QueuedCommand;
      if (isEventTooLargeError(error) && batch.length === 1 && only.command.kind === 'return') {
        // A return the store cannot hold is replaced by a marker rather than resent forever.
        const bytes = Buffer.byteLength(JSON.stringify(only.command.return) ?? '');
        this.deps.logger.warn({ job: this.key, minion: only.command.minion, bytes }, 'job return too large to store; recording a marker instead');
        only.command = { ...only.command, return: { error: 'return too large to store', bytes } };
        try {
          await this.decideAndAppend(batch);
        } catch (retryError) {
          only.reject(retryError);
        }
        return;
      }
      for (const queued of batch) queued.reject(error);
    }
  }

  private async decideAndAppend(batch: QueuedCommand[]): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      let working = this.snapshot;
      const toAppend: EventToAppend[] = [];
      const effects: JobEffect[] = [];
      const outcomes: { from: number; count: number; ignored?: IgnoredReason }[] = [];
      for (const queued of batch) {
        const decision = decideJob(working, queued.command);
        outcomes.push({ from: toAppend.length, count: decision.events.length, ignored: decision.ignored });
        for (const event of decision.events) {
          const [next, stepEffects] = this.deps.stepper.step(working, event);
          working = next;
          effects.push(...stepEffects);
          toAppend.push({
            type: 'jobs',
            action: event.action,
            key: this.key,
            tenant: this.tenant,
            data: event.data,
            meta: { principal: queued.principal, node: this.deps.node, correlationId: this.key },
          });
        }
      }
      let positions: number[] = [];
      if (toAppend.length > 0) {
        try {
          const appended = await this.deps.store.append(this.stream, toAppend, {
            expectedRevision: this.revision === -1 ? 'noStream' : this.revision,
          });
          positions = appended.positions;
          this.revision = appended.lastRevision;
        } catch (error) {
          if (isWrongExpectedRevisionError(error) && attempt < MAX_CONFLICT_RETRIES) {
            this.deps.logger.debug({ job: this.key, attempt }, 'job stream moved; re-reading and deciding again');
            await this.catchUp();
            continue;
          }
          throw error;
        }
      }
      this.snapshot = working;
      this.runEffects(effects);
      const state = this.status;
      batch.forEach((queued, index) => {
        const outcome = outcomes[index] as (typeof outcomes)[number];
        if (outcome.ignored) queued.resolve({ state, positions: [], ignored: outcome.ignored });
        else queued.resolve({ state, positions: positions.slice(outcome.from, outcome.from + outcome.count) });
      });
      return;
    }
  }

  private runEffects(effects: readonly JobEffect[]): void {
    for (const effect of effects) {
      try {
        effect.exec?.(effect.info, effect.params);
      } catch (error) {
        // An effect failing (a socket gone) must not undo what is recorded; the timeout covers it.
        this.deps.logger.error({ job: this.key, effect: effect.type, err: error }, 'job side effect failed');
      }
    }
  }
}
