import { transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import {
  isWrongExpectedRevisionError,
  uuidv7,
  WrongExpectedRevisionError,
  type EventMeta,
  type EventStore,
  type EventToAppend,
  type Position,
  type RecordedEvent,
} from '../../store/index.js';
import type { Clock } from './clock.js';
import { Mailbox } from './mailbox.js';
import { silentLogger, type Logger } from '../../store/index.js';

/**
 * The actor engine: decide -> append (expected revision of the actor's stream) -> act.
 *
 * Each actor (tenant, watcher, process) is a cell holding its state folded from its stream
 * and the revision that state reflects. Commands to one cell run one at a time through its
 * mailbox. Side effects are the actions the XState machine returns for events that were
 * just appended and acknowledged (durable); folding history never runs them. History is
 * folded with the kind's plain `evolve` (equal to the machine, much cheaper); the machine
 * snapshot is resolved from that state only when the actor next appends.
 */
/** An actor's state as deciders see it: the machine's state value and context. */
export interface ActorState {
  value: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  context: any;
}

export interface ActorBehaviour {
  logic: AnyStateMachine;
  evolve: (state: never, event: never) => ActorState;
}

export type ActorKind = 'tenant' | 'watcher' | 'process';

// the one Logger (store/logger.ts), re-exported for the runtime's rooms
export { silentLogger, type Logger };

export interface ActorCell {
  kind: ActorKind;
  stream: string;
  /** the events' `type` (`tenants`, `watchers`, `processes`) */
  type: string;
  key: string;
  tenant: string;
  logic: AnyStateMachine;
  evolve: (state: ActorState, event: { type: string; data: unknown; time: number }) => ActorState;
  /** the folded state deciders read */
  snapshot: ActorState;
  /** the machine snapshot for `snapshot`, resolved lazily (null when folding moved on) */
  machineSnapshot: AnyMachineSnapshot | null;
  /** revision of the last event folded into `snapshot`; -1 when the stream has none */
  revision: number;
  loaded: boolean;
  mailbox: Mailbox;
  timer: unknown;
  timerAt: number | null;
  /** called after every change of `snapshot` (waits of rolling reloads) */
  waiters: Set<() => void>;
}

/** Who a command acts for; carried into every event's `meta` and on to the work it causes. */
export interface CommandContext {
  principal: string;
  correlationId: string;
  causationId: string;
}

/** An event to append, in the actor's own terms. */
export interface DecidedEvent {
  action: string;
  data: unknown;
}

/** Work an effect started that the command's caller waits for (e.g. processes a watcher start commands). */
export type FollowUp = Promise<Position[]>;

export interface ExecutionResult {
  positions: Position[];
  followUps: FollowUp[];
}

export interface EffectScope {
  cell: ActorCell;
  context: CommandContext;
  followUps: FollowUp[];
}

export interface EngineOptions {
  store: EventStore;
  clock: Clock;
  node: string;
  logger: Logger;
  /** the model API events are written at (the system model API) */
  writeModel: () => number;
  downcast?: ((type: string, action: string, data: unknown, toModel: number) => unknown) | undefined;
  /** attempts after a conflict with another writer before giving up */
  conflictRetries: number;
  /** called whenever a cell's state changed (arms timers) */
  onApplied?: (cell: ActorCell) => void;
}

/** The model API this code's event shapes belong to (processes.exit v2). */
export const ACTORS_MODEL_API = 2;

export class ActorEngine {
  readonly cells = new Map<string, ActorCell>();
  /** set while a batch of actions runs (actions are synchronous) */
  scope: EffectScope | null = null;

  constructor(readonly options: EngineOptions) {}

  cell(kind: ActorKind, stream: string, key: string, tenant: string, behaviour: ActorBehaviour, initial: () => ActorState): ActorCell {
    let cell = this.cells.get(stream);
    if (!cell) {
      cell = {
        kind,
        stream,
        type: kind === 'tenant' ? 'tenants' : kind === 'watcher' ? 'watchers' : 'processes',
        key,
        tenant,
        logic: behaviour.logic,
        evolve: behaviour.evolve as ActorCell['evolve'],
        snapshot: initial(),
        machineSnapshot: null,
        revision: -1,
        loaded: false,
        mailbox: new Mailbox(),
        timer: null,
        timerAt: null,
        waiters: new Set(),
      };
      this.cells.set(stream, cell);
    }
    return cell;
  }

  /** Folds a recorded event without running effects (rehydration, catching up). */
  fold(cell: ActorCell, event: Pick<RecordedEvent, 'action' | 'data' | 'time' | 'revision'>): void {
    if (event.revision <= cell.revision) return;
    cell.snapshot = cell.evolve(cell.snapshot, { type: event.action, data: event.data, time: event.time });
    cell.machineSnapshot = null;
    cell.revision = event.revision;
  }

  /** Reads what the cell has not seen yet (first use, or after a conflict). */
  async catchUp(cell: ActorCell): Promise<void> {
    for (;;) {
      const events = await this.options.store.readStream(cell.stream, { afterRevision: cell.revision, limit: 1000 });
      for (const event of events) this.fold(cell, event);
      if (events.length < 1000) break;
    }
    cell.loaded = true;
    this.options.onApplied?.(cell);
  }

  /**
   * Runs one command on a cell: decide from its current state, append with the expected
   * revision, fold the appended events and run their effects. A conflict with another
   * writer reloads the stream and decides again (a bounded number of times); a conflict
   * with the caller's `expectedRevision` is the caller's (409) and is not retried.
   */
  execute(
    cell: ActorCell,
    decide: (state: ActorState, revision: number) => DecidedEvent[],
    context: CommandContext,
    expectedRevision?: number,
    { confirmNoOp = false }: { confirmNoOp?: boolean } = {},
  ): Promise<ExecutionResult> {
    return cell.mailbox.enqueue(async () => {
      if (!cell.loaded) await this.catchUp(cell);
      if (expectedRevision !== undefined && expectedRevision !== cell.revision) {
        throw new WrongExpectedRevisionError(cell.stream, expectedRevision, cell.revision);
      }
      for (let attempt = 0; ; attempt++) {
        const decided = decide(cell.snapshot, cell.revision);
        if (decided.length === 0) {
          // A fact dropped as "already known" must not be dropped because this node's view is
          // behind (another writer during a lease handover): confirm against the stream head.
          if (confirmNoOp && attempt === 0 && (await this.options.store.streamInfo(cell.stream)).lastRevision !== cell.revision) {
            await this.catchUp(cell);
            continue;
          }
          return { positions: [], followUps: [] };
        }
        const now = this.options.clock.now();
        const toAppend = decided.map((event) => this.toAppend(cell, event, context, now));
        try {
          const result = await this.options.store.append(cell.stream, toAppend, {
            expectedRevision: cell.revision === -1 ? 'noStream' : cell.revision,
          });
          const followUps = this.applyAppended(cell, decided, toAppend, result.lastRevision, now, context);
          return { positions: result.positions, followUps };
        } catch (error) {
          if (!isWrongExpectedRevisionError(error)) throw error;
          await this.catchUp(cell);
          if (expectedRevision !== undefined || attempt >= this.options.conflictRetries) throw error;
          this.options.logger.debug({ stream: cell.stream, attempt }, 'conflict with another writer; deciding again');
        }
      }
    });
  }

  private toAppend(cell: ActorCell, event: DecidedEvent, context: CommandContext, now: number): EventToAppend {
    const model = this.options.writeModel();
    let data = event.data;
    let schema = ACTORS_MODEL_API;
    // writers write at the system model API (docs/operations.md "Rolling restart on one machine"): downcast when ours is newer
    if (model < ACTORS_MODEL_API && this.options.downcast) {
      data = this.options.downcast(cell.type, event.action, data, model);
      schema = model;
    }
    const meta: EventMeta = {
      principal: context.principal,
      node: this.options.node,
      correlationId: context.correlationId,
      causationId: context.causationId,
    };
    return { id: uuidv7(now), type: cell.type, action: event.action, key: cell.key, tenant: cell.tenant, schema, data, meta };
  }

  /** Folds just-appended events (in our own model's shape) and runs the effects they cause. */
  private applyAppended(
    cell: ActorCell,
    decided: DecidedEvent[],
    appended: EventToAppend[],
    lastRevision: number,
    now: number,
    context: CommandContext,
  ): FollowUp[] {
    const actions: { exec: ((info: unknown, params: unknown) => void) | undefined; info: unknown; params: unknown }[] = [];
    let revision = lastRevision - decided.length;
    let machine = cell.machineSnapshot ?? cell.logic.resolveState(cell.snapshot);
    for (const event of decided) {
      revision++;
      const [next, produced] = transition(cell.logic, machine, { type: event.action, data: event.data, time: now });
      machine = next;
      cell.revision = revision;
      actions.push(...(produced as typeof actions));
    }
    cell.machineSnapshot = machine;
    cell.snapshot = { value: machine.value as string, context: machine.context };
    const lastId = appended[appended.length - 1]?.id ?? context.causationId;
    const scope: EffectScope = { cell, context: { ...context, causationId: lastId }, followUps: [] };
    const outer = this.scope;
    this.scope = scope;
    try {
      for (const action of actions) {
        try {
          action.exec?.(action.info, action.params);
        } catch (error) {
          // effects fail into logs and state, never into the caller whose events are already durable
          this.options.logger.error({ err: error, stream: cell.stream }, 'actor effect failed');
        }
      }
    } finally {
      this.scope = outer;
    }
    this.options.onApplied?.(cell);
    this.notify(cell);
    return scope.followUps;
  }

  notify(cell: ActorCell): void {
    for (const waiter of [...cell.waiters]) waiter();
  }

  /** Resolves when `predicate` holds for the cell (checked now and after each change), or with false after `timeoutMs`. */
  waitFor(cell: ActorCell, predicate: (state: ActorState) => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate(cell.snapshot)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const clock = this.options.clock;
      const done = (result: boolean) => {
        cell.waiters.delete(check);
        clock.clearTimeout(timer);
        resolve(result);
      };
      const check = () => {
        if (predicate(cell.snapshot)) done(true);
      };
      const timer = clock.setTimeout(() => done(false), timeoutMs);
      cell.waiters.add(check);
    });
  }

  /** Arms (or re-arms, or clears) the cell's single timer. */
  armTimer(cell: ActorCell, at: number | null, fire: () => void): void {
    if (cell.timerAt === at) return;
    if (cell.timer !== null) this.options.clock.clearTimeout(cell.timer);
    cell.timer = null;
    cell.timerAt = at;
    if (at === null) return;
    cell.timer = this.options.clock.setTimeout(() => {
      cell.timer = null;
      cell.timerAt = null;
      fire();
    }, at - this.options.clock.now());
  }

  clearTimers(): void {
    for (const cell of this.cells.values()) this.armTimer(cell, null, () => {});
  }
}

/** Awaits follow-up work and gathers every position it appended. */
export async function settleFollowUps(result: ExecutionResult): Promise<Position[]> {
  if (result.followUps.length === 0) return result.positions;
  const nested = await Promise.all(result.followUps);
  return [...result.positions, ...nested.flat()];
}
