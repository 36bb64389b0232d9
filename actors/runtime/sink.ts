import {
  assertName,
  InvalidArgumentError,
  logStream,
  minionKey,
  minionStream,
  parseProcessKey,
  uuidv7,
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
} from '../../store/index.js';
import type { LogLine } from '../log/events.js';
import type { Grains } from '../minion/events.js';
import type { MinionHello, MinionReport, MinionReportSink, RunningProcess } from '../minion/port.js';
import type { ProcessCommand, ProcessSnapshotView } from '../process/decide.js';
import type { WatcherSnapshotView } from '../watcher/decide.js';
import type { Clock } from './clock.js';
import { settleFollowUps, type ActorCell, type CommandContext, type Logger } from './engine.js';
import { Mailbox } from './mailbox.js';
import type { ActorSupervisor } from './supervisor.js';

/** runs whose newest stored line seq is kept in memory */
const MAX_REMEMBERED_RUNS = 10_000;
/** how far back a cold start looks for a run's newest line when other runs wrote after it */
const TAIL_SCAN_EVENTS = 256;

export interface MinionSinkOptions {
  store: EventStore;
  node: string;
  clock: Clock;
  logger: Logger;
  newId: () => string;
  jobs?: { handleReturn(minionId: string, report: MinionReport): Promise<void> } | undefined;
  /** throws `UnavailableError` unless this node runs the actors */
  whenRunning: () => void;
}

/**
 * What minions say, turned into events (`MinionReportSink`). Every method resolves only
 * once what it caused is durable, so the hub acknowledges a report only then; handling is
 * idempotent per runId because unacknowledged reports are resent after a reconnect.
 */
export class MinionSink implements MinionReportSink {
  /** the latest hello of every connected minion: reconciled again when this node starts leading */
  private readonly hellos = new Map<string, MinionHello>();
  /** minion stream -> last recorded grains (JSON), to record grains only when they change */
  private readonly recordedGrains = new Map<string, string>();
  private readonly minionMailboxes = new Map<string, Mailbox>();
  private readonly logMailboxes = new Map<string, Mailbox>();
  /** log stream -> the maxCount set on it by this node */
  private readonly logRetention = new Map<string, number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /**
   * runId -> seq of the newest line stored for that run (least recently used first, bounded:
   * a forgotten run is read back from its stream's tail, like after a cold start).
   */
  private readonly storedLineSeq = new Map<string, number>();

  constructor(
    private readonly supervisor: ActorSupervisor,
    private readonly options: MinionSinkOptions,
  ) {}

  foldMinionEvent(event: RecordedEvent): void {
    if (event.action === 'grains') this.recordedGrains.set(event.stream, JSON.stringify((event.data as { grains: Grains }).grains));
  }

  async minionConnected(hello: MinionHello): Promise<void> {
    assertName('minion', hello.id);
    for (const tenant of hello.tenants) assertName('tenant', tenant);
    this.hellos.set(hello.id, hello);
    // not leading: kept, and reconciled when this node starts running the actors
    try {
      this.options.whenRunning();
    } catch {
      return;
    }
    await this.track(this.serialized(hello.id, () => this.recordConnect(hello)));
    await this.track(this.reconcile(hello));
  }

  async minionDisconnected(minionId: string, tenants: string[], reason: string): Promise<void> {
    if (this.hellos.get(minionId)) this.hellos.delete(minionId);
    try {
      this.options.whenRunning();
    } catch {
      return;
    }
    const now = this.options.clock.now();
    await this.track(
      this.serialized(minionId, async () => {
        for (const tenant of tenants) {
          await this.appendMinion(tenant, minionId, [{ action: 'disconnect', data: { reason, lastSeen: now } }]);
        }
      }),
    );
  }

  async report(minionId: string, report: MinionReport): Promise<void> {
    this.options.whenRunning();
    await this.track(this.handle(minionId, report));
  }

  /** After this node starts leading: reconcile every minion that said hello meanwhile. */
  async reconcileKnownMinions(): Promise<void> {
    for (const hello of [...this.hellos.values()]) {
      await this.serialized(hello.id, () => this.recordConnect(hello));
      await this.reconcile(hello);
    }
  }

  /**
   * Forgets the line numbers it remembers: another node may have stored lines while this
   * one did not lead, so they are read back from the streams again.
   */
  forgetStoredLines(): void {
    this.storedLineSeq.clear();
  }

  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => {});
    return work;
  }

  private serialized<T>(minionId: string, job: () => Promise<T>): Promise<T> {
    let mailbox = this.minionMailboxes.get(minionId);
    if (!mailbox) this.minionMailboxes.set(minionId, (mailbox = new Mailbox()));
    return mailbox.enqueue(job);
  }

  private context(minionId: string): CommandContext {
    const id = this.options.newId();
    return { principal: `minion:${minionId}`, correlationId: id, causationId: id };
  }

  private async recordConnect(hello: MinionHello): Promise<void> {
    const now = this.options.clock.now();
    for (const tenant of hello.tenants) {
      const events: { action: string; data: unknown }[] = [
        { action: 'connect', data: { id: hello.id, version: hello.version, protocol: hello.protocol, connectedAt: now } },
      ];
      const grains = JSON.stringify(hello.grains);
      const stream = minionStream(tenant, hello.id);
      if (this.recordedGrains.get(stream) !== grains) events.push({ action: 'grains', data: { grains: hello.grains } });
      await this.appendMinion(tenant, hello.id, events);
      this.recordedGrains.set(stream, grains);
    }
  }

  private async appendMinion(tenant: string, id: string, events: { action: string; data: unknown }[]): Promise<void> {
    const now = this.options.clock.now();
    const context = this.context(id);
    const toAppend: EventToAppend[] = events.map((event) => ({
      id: uuidv7(now),
      type: 'minions',
      action: event.action,
      key: minionKey(tenant, id),
      tenant,
      schema: 2,
      data: event.data,
      meta: { ...context, node: this.options.node },
    }));
    // presence is a log of facts, not a decision: no expected revision
    await this.options.store.append(minionStream(tenant, id), toAppend, { expectedRevision: 'any' });
  }

  /**
   * Reconciliation after a (re)connect: runs the minion still has are kept (recording a
   * spawn/ready the server missed); a run a slot no longer owns is stopped (no slot ever has
   * two processes); a recorded run the minion no longer has ended while no server listened
   * (exit with unknown code, then the restart policy); a spawn that never reached it is sent again.
   */
  private async reconcile(hello: MinionHello): Promise<void> {
    const context = this.context(hello.id);
    const byKey = new Map<string, RunningProcess[]>();
    for (const running of hello.running) {
      if (!hello.tenants.includes(running.tenant)) continue;
      const list = byKey.get(running.processKey);
      if (list) list.push(running);
      else byKey.set(running.processKey, [running]);
    }
    const cells = new Set<ActorCell>();
    for (const cell of this.supervisor.engine.cells.values()) {
      if (cell.kind !== 'process' || !hello.tenants.includes(cell.tenant)) continue;
      const { context: process } = cell.snapshot as unknown as ProcessSnapshotView;
      if ([process.run, process.surge, process.retiring].some((run) => run?.minion === hello.id) || byKey.has(cell.key)) cells.add(cell);
    }
    for (const [key, running] of byKey) {
      let parsed;
      try {
        parsed = parseProcessKey(key);
      } catch {
        this.stopUnknown(hello.id, running, 'invalid process key');
        continue;
      }
      const cell = this.supervisor.processCell(parsed.tenant, parsed.watcher, parsed.slot);
      if (!cell.loaded) await this.supervisor.engine.catchUp(cell);
      if (cell.revision === -1) this.stopUnknown(hello.id, running, 'no such process slot');
      else cells.add(cell);
    }
    await Promise.all([...cells].map((cell) => this.reconcileSlot(cell, hello.id, byKey.get(cell.key) ?? [], context)));
  }

  private async reconcileSlot(cell: ActorCell, minion: string, running: RunningProcess[], context: CommandContext): Promise<void> {
    const run = (command: ProcessCommand) => this.supervisor.runProcess(cell, command, context).then(settleFollowUps);
    for (const process of running) {
      await run({ kind: 'spawned', runId: process.runId, pid: process.pid, startedAt: process.startedAt, minion, fromHello: true });
      if (process.ready) await run({ kind: 'ready', runId: process.runId, pid: process.pid });
    }
    const listed = new Set(running.map((process) => process.runId));
    const { value, context: state } = cell.snapshot as unknown as ProcessSnapshotView;
    for (const recorded of [state.run, state.surge, state.retiring]) {
      if (!recorded || recorded.minion !== minion) continue;
      if (listed.has(recorded.runId)) {
        // a stop the minion may never have received (sent while it was away): send it again
        if (recorded === state.retiring || (recorded === state.run && value === 'stopping')) {
          this.supervisor.resendStop(cell, recorded.runId, minion, recorded === state.run ? state.killAt : null);
        }
        continue;
      }
      if (recorded.pid === null && recorded !== state.retiring && (value === 'starting' || value === 'running')) {
        this.supervisor.resendSpawn(cell, recorded.runId, minion);
      } else {
        await run({ kind: 'runMissing', runId: recorded.runId });
      }
    }
  }

  private stopUnknown(minion: string, running: RunningProcess[], why: string): void {
    for (const process of running) {
      this.options.logger.warn({ minion, process: process.processKey, runId: process.runId, why }, 'stopping a process no slot owns');
      this.supervisor.options.minions.send(minion, {
        kind: 'stop',
        tenant: process.tenant,
        processKey: process.processKey,
        runId: process.runId,
        signal: 'SIGTERM',
        waitMs: 5000,
      });
    }
  }

  private async handle(minionId: string, report: MinionReport): Promise<void> {
    switch (report.kind) {
      case 'jobReturn':
        if (this.options.jobs) await this.options.jobs.handleReturn(minionId, report);
        else this.options.logger.warn({ minion: minionId, jid: report.jid }, 'job return with no job service; dropped');
        return;
      case 'stats':
        return this.handleStats(report);
      case 'output':
        return this.appendOutput(minionId, report);
      default:
        break;
    }
    const cell = await this.processCellOf(report.tenant, report.processKey);
    if (!cell) {
      if (report.kind === 'spawned') {
        this.stopUnknown(minionId, [{ tenant: report.tenant, processKey: report.processKey, runId: report.runId, pid: report.pid, startedAt: report.startedAt, ready: false }], 'no such process slot');
      }
      return;
    }
    const command: ProcessCommand =
      report.kind === 'spawned'
        ? { kind: 'spawned', runId: report.runId, pid: report.pid, startedAt: report.startedAt, minion: minionId }
        : report.kind === 'ready'
          ? { kind: 'ready', runId: report.runId, pid: report.pid }
          : report.kind === 'spawnFailed'
            ? { kind: 'spawnFailed', runId: report.runId, error: report.error }
            : {
                kind: 'exited',
                runId: report.runId,
                pid: report.pid,
                code: report.code,
                signal: report.signal,
                exitedAt: report.exitedAt,
                durationMs: report.durationMs,
                usage: report.usage,
              };
    if (report.kind === 'spawnFailed') this.options.logger.warn({ process: report.processKey, error: report.error }, 'spawn failed');
    await settleFollowUps(await this.supervisor.runProcess(cell, command, this.context(minionId)));
  }

  private async processCellOf(tenant: string, key: string): Promise<ActorCell | null> {
    const parsed = parseProcessKey(key);
    if (parsed.tenant !== tenant) throw new InvalidArgumentError(`process key ${key} does not belong to tenant ${tenant}`);
    const cell = this.supervisor.processCell(parsed.tenant, parsed.watcher, parsed.slot);
    if (!cell.loaded) await this.supervisor.engine.catchUp(cell);
    return cell.revision === -1 ? null : cell;
  }

  private async handleStats(report: Extract<MinionReport, { kind: 'stats' }>): Promise<void> {
    const now = this.options.clock.now();
    const interval = this.supervisor.options.statsIntervalMs;
    const work: Promise<unknown>[] = [];
    for (const sample of report.samples) {
      this.supervisor.stats$.next({ tenant: report.tenant, ...sample, time: now });
      const cell = this.supervisor.engine.cells.get(`process-${sample.processKey}`);
      if (!cell || cell.tenant !== report.tenant) continue;
      const { context } = cell.snapshot as unknown as ProcessSnapshotView;
      // the cheap check first: most samples are live-only and never reach the mailbox
      if (context.run?.runId !== sample.runId || now - context.lastStatsAt < interval) continue;
      const command: ProcessCommand = { kind: 'stats', runId: sample.runId, pid: sample.pid, cpu: sample.cpu, rss: sample.rss };
      work.push(this.supervisor.runProcess(cell, command, this.context('stats')).then(settleFollowUps));
    }
    await Promise.all(work);
  }

  /**
   * One append per report to the process's `log-` stream, in report order per stream. Lines
   * numbered by the minion (`firstSeq`) are stored at most once: a report resent after a
   * reconnect (its ack was lost) appends only the lines after the newest stored one of its run.
   */
  private async appendOutput(minionId: string, report: Extract<MinionReport, { kind: 'output' }>): Promise<void> {
    if (report.lines.length === 0) return;
    const parsed = parseProcessKey(report.processKey);
    if (parsed.tenant !== report.tenant) throw new InvalidArgumentError(`process key ${report.processKey} does not belong to tenant ${report.tenant}`);
    const stream = logStream(parsed.tenant, parsed.watcher, parsed.slot);
    const watcher = this.supervisor.watcherCell(parsed.tenant, parsed.watcher).snapshot as unknown as WatcherSnapshotView;
    const maxLines = watcher.context.spec?.logs.maxLines ?? 10_000;
    let mailbox = this.logMailboxes.get(stream);
    if (!mailbox) this.logMailboxes.set(stream, (mailbox = new Mailbox()));
    // In the stream's mailbox: reading back the newest stored seq and appending after it
    // cannot interleave with another report of the same stream.
    await mailbox.enqueue(async () => {
      let lines = report.lines;
      let firstSeq = report.firstSeq;
      if (firstSeq !== undefined) {
        const stored = await this.storedSeq(stream, report.runId);
        const skip = Math.max(0, stored - firstSeq + 1);
        if (skip >= lines.length) return;
        if (skip > 0) {
          lines = lines.slice(skip);
          firstSeq += skip;
        }
      }
      const store = this.options.store;
      if (this.logRetention.get(stream) !== maxLines) {
        await store.setStreamMetadata(stream, { maxCount: maxLines });
        this.logRetention.set(stream, maxLines);
      }
      const meta = { principal: `minion:${minionId}`, node: this.options.node };
      const last = lines.length - 1;
      const events: EventToAppend[] = lines.map((line, i) => {
        const data: LogLine = { pid: report.pid, fd: line.fd, line: line.line };
        if (line.truncated) data.truncated = true;
        if (firstSeq !== undefined) {
          data.seq = firstSeq + i;
          if (i === last) data.run = report.runId;
        }
        return { type: 'logs', action: 'line', key: report.processKey, tenant: report.tenant, schema: 2, data, meta };
      });
      await store.append(stream, events, { expectedRevision: 'any' });
      if (firstSeq !== undefined) this.rememberStoredSeq(report.runId, firstSeq + last);
    });
  }

  /**
   * The seq of the newest stored line of a run: remembered, or else read back from the newest
   * events of its stream (another run of the slot, a reload's surge, may have written after
   * it). 0 when none is found: its lines are then stored as they come.
   */
  private async storedSeq(stream: string, runId: string): Promise<number> {
    const remembered = this.storedLineSeq.get(runId);
    if (remembered !== undefined) return remembered;
    let seq = 0;
    let before: number | undefined;
    // the common case (one run writes the slot's stream) costs one event
    for (const limit of [1, TAIL_SCAN_EVENTS]) {
      const page = await this.options.store.readStream(stream, { direction: 'backward', limit, ...(before === undefined ? {} : { beforeRevision: before }) });
      const found = page.find((event) => (event.data as LogLine | null)?.run === runId);
      if (found) {
        seq = (found.data as LogLine).seq ?? 0;
        break;
      }
      if (page.length < limit) break;
      before = page[page.length - 1]!.revision;
    }
    this.rememberStoredSeq(runId, seq);
    return seq;
  }

  private rememberStoredSeq(runId: string, seq: number): void {
    this.storedLineSeq.delete(runId);
    this.storedLineSeq.set(runId, seq);
    if (this.storedLineSeq.size > MAX_REMEMBERED_RUNS) this.storedLineSeq.delete(this.storedLineSeq.keys().next().value!);
  }
}
