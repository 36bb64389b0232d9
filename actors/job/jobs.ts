import {
  assertName,
  CorralError,
  InvalidArgumentError,
  jobKey,
  NotFoundError,
  UnavailableError,
  type EventStore,
  type Position,
} from '../../store/index.js';
import type { AccountRequest, MinionPort, MinionReport, TenantAccountLookup } from '../minion/port.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../runtime/engine.js';
import { JobActor, type JobActorDeps, type JobCommandResult } from './actor.js';
import type { JobCommand } from './decide.js';
import type { JobCreated, TargetType } from './events.js';
import { newJid } from './jid.js';
import { createJobStepper, FINISHED_STATUSES, jobMachine, type JobStatus } from './machine.js';
import { compileTarget } from './target.js';
import { validateJid, validateJobRequest, validatePrincipal, type JobRequest } from './validate.js';

/** How much later than the job's timeout a minion stops the function itself. */
export const MINION_DEADLINE_GRACE_MS = 2_000;

export interface JobServiceOptions {
  store: EventStore;
  minions: MinionPort;
  clock?: Clock;
  /** this server's component key, recorded in `meta.node` */
  node: string;
  logger?: Logger;
  /** unfinished jobs held at once; more are refused with `unavailable` (default 10,000) */
  maxConcurrentJobs?: number;
  /** finished jobs kept in memory to answer late returns and cancels without a read (default 10,000) */
  finishedJobsCached?: number;
  /** the tenant's OS account, sent with every runJob for the functions that run commands (docs/security.md) */
  tenantAccount?: TenantAccountLookup;
}

export interface CreatedJob {
  jid: string;
  /** `<tenant>:<jid>` */
  key: string;
  tenant: string;
  /** `running`, or `complete` when the target matched no minion */
  state: JobStatus;
  /** minion ids the job was sent to (empty: no minion matched) */
  minions: string[];
  timeoutAt: number;
  /** positions of the recorded events (create, dispatch[, complete]) */
  positions: Position[];
}

export interface CancelledJob {
  jid: string;
  key: string;
  /** the state after the request: `cancelled`, or the state it had already ended in */
  state: JobStatus;
  /** false when the job had already ended (nothing recorded) */
  cancelled: boolean;
  positions: Position[];
}

export interface JobSummary {
  jid: string;
  key: string;
  tenant: string;
  state: JobStatus;
  fun: string;
  tgt: string;
  tgtType: TargetType;
  user: string;
  timeoutAt: number;
  minions: string[];
  returned: string[];
  /** revision of the job stream's last event */
  revision: number;
}

export interface ResumeSummary {
  /** unfinished jobs found and now held by this service */
  resumed: number;
  /** of those, jobs already past their timeout, ended `timeout` during resume */
  expired: number;
}

export interface JobService {
  createJob(request: JobRequest): Promise<CreatedJob>;
  cancelJob(tenant: string, jid: string, principal: string): Promise<CancelledJob>;
  /** Records a minion's `jobReturn` report; resolves once durable (or once known to be ignorable). */
  handleReturn(minionId: string, report: MinionReport): Promise<void>;
  /** Rehydrates unfinished jobs from the store, re-arms their timeouts, expires overdue ones. */
  resume(): Promise<ResumeSummary>;
  /** The job as this service knows it; NotFoundError if it does not exist. */
  describeJob(tenant: string, jid: string): Promise<JobSummary>;
  /** Unfinished jobs held in memory. */
  readonly runningJobs: number;
  /** Stops timers and waits for in-flight appends; afterwards every call is `unavailable`. */
  stop(): Promise<void>;
}

/** Only the defined fields: absent ones are the minion's default account. */
function definedAccount(account: AccountRequest | null): AccountRequest {
  if (!account) return {};
  return { ...(account.user === undefined ? {} : { user: account.user }), ...(account.group === undefined ? {} : { group: account.group }) };
}

const READ_PAGE = 5000;
const RESUME_PARALLELISM = 16;
const ENDING_ACTIONS = new Set(['complete', 'timeout', 'cancel']);

export function createJobService({
  store,
  minions: port,
  clock = systemClock,
  node,
  logger = silentLogger,
  maxConcurrentJobs = 10_000,
  finishedJobsCached = 10_000,
  tenantAccount,
}: JobServiceOptions): JobService {
  const active = new Map<string, JobActor>();
  // insertion-ordered: the first entry is the one finished longest ago
  const finished = new Map<string, JobActor>();
  const loading = new Map<string, Promise<JobActor | undefined>>();
  const timers = new Map<string, unknown>();
  let stopped = false;

  const disarm = (key: string): void => {
    const handle = timers.get(key);
    if (handle !== undefined) {
      clock.clearTimeout(handle);
      timers.delete(key);
    }
  };

  const arm = (actor: JobActor, timeoutAt: number): void => {
    disarm(actor.key);
    if (stopped) return;
    const handle = clock.setTimeout(() => {
      timers.delete(actor.key);
      if (stopped) return;
      void expire(actor).catch((error) => logger.error({ job: actor.key, err: error }, 'job timeout could not be recorded'));
    }, Math.max(0, timeoutAt - clock.now()));
    timers.set(actor.key, handle);
  };

  const release = (actor: JobActor): void => {
    disarm(actor.key);
    if (active.get(actor.key) === actor) active.delete(actor.key);
    finished.delete(actor.key);
    finished.set(actor.key, actor);
    if (finished.size > finishedJobsCached) finished.delete(finished.keys().next().value as string);
  };

  const machine = jobMachine.provide({
    actions: {
      sendRunJob: ({ context }, { minions }) => {
        const created = context.created as JobCreated;
        for (const minion of minions) {
          const sent = port.send(minion, {
            kind: 'runJob',
            tenant: context.tenant,
            jid: context.jid,
            fun: created.fun,
            args: created.args,
            // The job's timeout is decided here, from the recorded timeoutAt: the minion's own
            // deadline only frees its resources once nobody waits, so it comes a little later
            // and a slow minion's self-stop can never race the recorded `timeout`.
            timeoutMs: created.timeoutMs + MINION_DEADLINE_GRACE_MS,
            ...definedAccount(tenantAccount?.(context.tenant) ?? null),
          });
          // It matched a moment ago; if it is gone now it times out unless it comes back.
          if (!sent) logger.warn({ job: jobKey(context.tenant, context.jid), minion }, 'minion not connected at dispatch');
        }
      },
      sendCancelJob: ({ context }, { minions }) => {
        for (const minion of minions) port.send(minion, { kind: 'cancelJob', tenant: context.tenant, jid: context.jid });
      },
      armTimeout: ({ context }, { timeoutAt }) => {
        const actor = active.get(jobKey(context.tenant, context.jid));
        if (actor) arm(actor, timeoutAt);
      },
      disarmTimeout: ({ context }) => disarm(jobKey(context.tenant, context.jid)),
      releaseJob: ({ context }) => {
        const key = jobKey(context.tenant, context.jid);
        const actor = active.get(key);
        if (actor) release(actor);
      },
    },
  });
  const deps: JobActorDeps = { store, stepper: createJobStepper(machine), node, logger };

  const assertRunning = (): void => {
    if (stopped) throw new UnavailableError('the job service is stopped (this node is not running actors)');
  };

  const submit = async (actor: JobActor, command: JobCommand, principal: string): Promise<JobCommandResult> => {
    const result = await actor.enqueue(command, principal);
    if (result.ignored && command.kind === 'return') {
      const level = result.ignored === 'duplicate-return' ? 'debug' : 'info';
      logger[level]({ job: actor.key, minion: command.minion, reason: result.ignored }, 'job return ignored');
    }
    return result;
  };

  async function expire(actor: JobActor): Promise<boolean> {
    const result = await submit(actor, { kind: 'expire', now: clock.now() }, 'system');
    if (result.ignored === 'not-due' && actor.snapshot.context.created) arm(actor, actor.snapshot.context.created.timeoutAt);
    return result.positions.length > 0;
  }

  /** After rehydration: re-arm the recorded timer, expire at once if overdue, dispatch if never dispatched. */
  async function resumeActor(actor: JobActor): Promise<boolean> {
    const created = actor.snapshot.context.created as JobCreated;
    if (actor.status === 'pending') {
      const target = compileTarget(created.tgt, created.tgtType);
      const matched = port.connected(actor.tenant).filter((minion) => target.matches(minion)).map((minion) => minion.id);
      await submit(actor, { kind: 'dispatch', minions: [...new Set(matched)] }, 'system');
    }
    if (actor.status !== 'running') return false;
    if (clock.now() >= created.timeoutAt) return expire(actor);
    arm(actor, created.timeoutAt);
    return false;
  }

  async function load(tenant: string, jid: string): Promise<JobActor | undefined> {
    const actor = new JobActor(deps, tenant, jid);
    await actor.catchUp();
    if (actor.revision === -1) return undefined;
    if (FINISHED_STATUSES.has(actor.status)) {
      release(actor);
    } else {
      active.set(actor.key, actor);
      await resumeActor(actor);
    }
    return actor;
  }

  /** The job's actor: in memory, or loaded from its stream; undefined if the job does not exist. */
  async function actorFor(tenant: string, jid: string): Promise<JobActor | undefined> {
    const key = jobKey(tenant, jid);
    const held = active.get(key) ?? finished.get(key);
    if (held) return held;
    let pending = loading.get(key);
    if (!pending) {
      pending = load(tenant, jid).finally(() => loading.delete(key));
      loading.set(key, pending);
    }
    return pending;
  }

  async function existingActor(tenant: string, jid: string): Promise<JobActor> {
    const actor = await actorFor(tenant, jid);
    if (!actor) throw new NotFoundError(`job ${jid} not found in tenant ${tenant}`, { tenant, jid });
    return actor;
  }

  return {
    get runningJobs() {
      return active.size;
    },

    async createJob(request) {
      assertRunning();
      const valid = validateJobRequest(request);
      if (active.size >= maxConcurrentJobs) {
        throw new UnavailableError(`too many unfinished jobs (${active.size}, the limit is ${maxConcurrentJobs}); try again when some have ended`);
      }
      const matched = [...new Set(port.connected(valid.tenant).filter((minion) => valid.target.matches(minion)).map((minion) => minion.id))];
      // A jid already taken (by another process's burst) is detected by the `noStream` append; take the next one.
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const jid = newJid(clock);
        const key = jobKey(valid.tenant, jid);
        if (active.has(key) || finished.has(key)) continue;
        const created: JobCreated = {
          jid,
          fun: valid.fun,
          args: valid.args,
          tgt: valid.target.tgt,
          tgtType: valid.target.tgtType,
          timeoutMs: valid.timeoutMs,
          user: valid.principal,
          timeoutAt: clock.now() + valid.timeoutMs,
        };
        const actor = new JobActor(deps, valid.tenant, jid);
        // Held before the append: a minion may answer while the dispatch effects are still running.
        active.set(key, actor);
        let result: JobCommandResult;
        try {
          result = await submit(actor, { kind: 'create', created, minions: matched }, valid.principal);
        } catch (error) {
          if (active.get(key) === actor) active.delete(key);
          throw error;
        }
        if (result.ignored === 'already-exists') {
          if (active.get(key) === actor) active.delete(key);
          continue;
        }
        return { jid, key, tenant: valid.tenant, state: result.state, minions: matched, timeoutAt: created.timeoutAt, positions: result.positions };
      }
      throw new CorralError('internal', 'could not allocate an unused job id after 5 attempts');
    },

    async cancelJob(tenant, jid, principal) {
      assertRunning();
      assertName('tenant', tenant);
      validateJid(jid);
      validatePrincipal(principal);
      const actor = await existingActor(tenant, jid);
      const result = await submit(actor, { kind: 'cancel', by: principal }, principal);
      return { jid, key: actor.key, state: result.state, cancelled: result.positions.length > 0, positions: result.positions };
    },

    async handleReturn(minionId, report) {
      assertRunning();
      if (report?.kind !== 'jobReturn') {
        throw new InvalidArgumentError(`expected a jobReturn report, got ${JSON.stringify((report as { kind?: unknown } | undefined)?.kind)}`);
      }
      assertName('minion', minionId);
      assertName('tenant', report.tenant);
      validateJid(report.jid);
      if (typeof report.retcode !== 'number' || !Number.isInteger(report.retcode)) {
        throw new InvalidArgumentError(`job return from ${minionId}: retcode must be an integer, got ${JSON.stringify(report.retcode)}`);
      }
      if (typeof report.success !== 'boolean') {
        throw new InvalidArgumentError(`job return from ${minionId}: success must be a boolean, got ${JSON.stringify(report.success)}`);
      }
      const durationMs = typeof report.durationMs === 'number' && Number.isFinite(report.durationMs) && report.durationMs >= 0 ? report.durationMs : 0;
      if (report.minion !== minionId) logger.warn({ minion: minionId, claimed: report.minion, jid: report.jid }, 'job return names another minion; using the connection id');
      const actor = await actorFor(report.tenant, report.jid);
      if (!actor) {
        // Acknowledge it: the minion would otherwise resend a return nobody can use, forever.
        logger.info({ minion: minionId, tenant: report.tenant, jid: report.jid }, 'return for an unknown job ignored');
        return;
      }
      await submit(
        actor,
        { kind: 'return', minion: minionId, return: report.return ?? null, retcode: report.retcode, success: report.success, durationMs },
        `${report.tenant}:${minionId}`,
      );
    },

    async resume() {
      assertRunning();
      // Cheap first pass over job events: which jobs were created and never ended.
      const unfinished = new Map<string, { tenant: string; jid: string }>();
      for (let after = 0; ; ) {
        const page = await store.readAll({ types: ['jobs'], after, limit: READ_PAGE });
        if (page.length === 0) break;
        for (const event of page) {
          if (event.action === 'create' && event.tenant) unfinished.set(event.key, { tenant: event.tenant, jid: (event.data as JobCreated).jid });
          else if (ENDING_ACTIONS.has(event.action)) unfinished.delete(event.key);
        }
        after = (page[page.length - 1] as (typeof page)[number]).position;
      }
      const todo = [...unfinished.values()].filter(({ tenant, jid }) => !active.has(jobKey(tenant, jid)));
      let resumed = 0;
      let expired = 0;
      const worker = async (): Promise<void> => {
        for (let next = todo.pop(); next; next = todo.pop()) {
          const key = jobKey(next.tenant, next.jid);
          const wasHeld = active.has(key) || finished.has(key) || loading.has(key);
          const actor = await actorFor(next.tenant, next.jid);
          if (!actor || wasHeld) continue;
          resumed += 1;
          // it was unfinished in the log a moment ago: ending `timeout` now means it was overdue
          if (actor.status === 'timeout') expired += 1;
        }
      };
      await Promise.all(Array.from({ length: RESUME_PARALLELISM }, worker));
      logger.info({ resumed, expired }, 'jobs resumed');
      return { resumed, expired };
    },

    async describeJob(tenant, jid) {
      assertName('tenant', tenant);
      validateJid(jid);
      const actor = await existingActor(tenant, jid);
      const { context } = actor.snapshot;
      const created = context.created as JobCreated;
      return {
        jid,
        key: actor.key,
        tenant,
        state: actor.status,
        fun: created.fun,
        tgt: created.tgt,
        tgtType: created.tgtType,
        user: created.user,
        timeoutAt: created.timeoutAt,
        minions: [...context.dispatched],
        returned: context.dispatched.filter((minion) => Object.hasOwn(context.returned, minion)),
        revision: actor.revision,
      };
    },

    async stop() {
      stopped = true;
      for (const key of [...timers.keys()]) disarm(key);
      await Promise.all([...active.values(), ...finished.values()].map((actor) => actor.idle()));
      await Promise.allSettled([...loading.values()]);
    },
  };
}

