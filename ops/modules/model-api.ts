import { Subject, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import { COMPONENTS_STREAM, type EventStore, type RecordedEvent } from '../../store/index.js';
import type { ComponentRegistered, ComponentStateChanged, ModelApiRange } from '../../actors/index.js';
import {
  DEFAULT_COMPONENT_TTL_MS,
  assertCanJoin,
  isLiveComponent,
  writeModelApi,
  type ProjectionEngine,
} from '../../projections/index.js';

/** A live server as the registry says: enough to compute the system model API and pick an announcer. */
export interface LiveServer {
  key: string;
  max: number;
  url: string | null;
  leader: boolean;
}

const REGISTRY_PAGE = 1_000;

/**
 * The live servers of `$components`, read from the store itself (newest first) rather than
 * from the views: the model-API check must happen before this node registers, which is
 * before its projections have caught up with a possibly long log.
 *
 * Reads back until every component seen within the liveness window is resolved (its
 * newest `state`, and its `register`); components silent for longer than `ttlMs` cannot be
 * live, so older events matter only for the registrations of live ones.
 */
export async function readLiveServers(
  store: EventStore,
  now: number,
  ttlMs: number = DEFAULT_COMPONENT_TTL_MS,
  pageSize: number = REGISTRY_PAGE,
): Promise<LiveServer[]> {
  const info = await store.streamInfo(COMPONENTS_STREAM).catch(() => null);
  if (!info || info.lastRevision < 0) return [];
  const horizon = now - ttlMs;
  /** key -> newest event time, and whether a newer `state` already settled its state */
  const pending = new Map<string, { lastSeen: number; stateSeen: boolean }>();
  const resolved = new Set<string>();
  const live: LiveServer[] = [];
  let before = info.lastRevision + 1;
  let pastHorizon = false;
  while (before > info.firstRevision) {
    const page = await store.readStream(COMPONENTS_STREAM, { direction: 'backward', beforeRevision: before, limit: pageSize });
    if (page.length === 0) break;
    for (const event of page) {
      before = Math.min(before, event.revision);
      if (event.time < horizon) pastHorizon = true;
      if (event.action === 'leader' || resolved.has(event.key)) continue;
      let entry = pending.get(event.key);
      if (!entry) {
        // its newest event: silent too long, or gone
        if (event.time < horizon || event.action === 'unregister') {
          resolved.add(event.key);
          continue;
        }
        pending.set(event.key, (entry = { lastSeen: event.time, stateSeen: false }));
      }
      if (applyBackward(event, entry, live)) {
        resolved.add(event.key);
        pending.delete(event.key);
      }
    }
    if (pastHorizon && pending.size === 0) break;
  }
  return live;
}

/** One older event of a pending component; true once the component is resolved. */
function applyBackward(event: RecordedEvent, entry: { lastSeen: number; stateSeen: boolean }, live: LiveServer[]): boolean {
  if (event.action === 'unregister') return true; // unregistered after its last registration
  if (event.action === 'state' && !entry.stateSeen) {
    entry.stateSeen = true;
    if ((event.data as ComponentStateChanged).state === 'stopped') return true;
  }
  if (event.action !== 'register') return false;
  const data = event.data as ComponentRegistered;
  if (data.kind === 'server') live.push({ key: event.key, max: data.modelApi.max, url: data.url ?? null, leader: false });
  return true;
}

function liveServersOfView(engine: ProjectionEngine, now: number, ttlMs: number): LiveServer[] {
  const servers: LiveServer[] = [];
  for (const component of engine.views.components.values()) {
    if (component.kind !== 'server' || !isLiveComponent(component, now, ttlMs)) continue;
    servers.push({ key: component.key, max: component.modelApi.max, url: component.url, leader: component.leader });
  }
  return servers;
}

export interface SystemModelApiOptions {
  own: ModelApiRange;
  /** this node's component key */
  key: string;
  store: EventStore;
  engine: ProjectionEngine;
  log: Logger;
  ttlMs?: number;
  now?: () => number;
}

/**
 * This node's view of the system model API (docs/operations.md "Rolling restart on one machine"): the minimum `max` over live
 * servers, this node included. Read from the store until the projections have caught up,
 * then from the components view. Heartbeats expire by wall-clock time, so it is re-read
 * on `refresh()` (the module calls it on an interval) rather than only on events.
 */
export class SystemModelApi {
  private readonly options: SystemModelApiOptions;
  private readonly changes = new Subject<number>();
  private servers: LiveServer[] = [];
  private value: number;
  private refreshing: Promise<void> | null = null;
  private initialized = false;

  /** each new value, once (not replayed) */
  readonly changes$: Observable<number> = this.changes.asObservable();

  constructor(options: SystemModelApiOptions) {
    this.options = options;
    this.value = options.own.max;
  }

  /** The system model API now, this node counted as live. */
  current(): number {
    return this.value;
  }

  /** The model API this node writes at: the system's (never above its own `max`). */
  writeModel(): number {
    return writeModelApi(this.options.own, this.value);
  }

  /** The live servers other than this node, as last read. */
  others(): readonly LiveServer[] {
    return this.servers.filter((server) => server.key !== this.options.key);
  }

  /** Throws ModelApiMismatchError (a clear message; `corral serve` exits 1) when this node may not join. */
  assertCanJoin(): void {
    const others = this.others();
    assertCanJoin(this.options.own, others.length === 0 ? null : Math.min(...others.map((server) => server.max)));
  }

  /**
   * The server that announces a change with a `components.state` event, so the log gets
   * one announcement instead of one per node: the lease holder, else the smallest key.
   */
  isAnnouncer(): boolean {
    const servers = this.servers.some((server) => server.key === this.options.key)
      ? this.servers
      : [...this.servers, { key: this.options.key, max: this.options.own.max, url: null, leader: false }];
    const leader = servers.find((server) => server.leader);
    if (leader) return leader.key === this.options.key;
    return servers.reduce((smallest, server) => (server.key < smallest ? server.key : smallest), servers[0]!.key) === this.options.key;
  }

  /** Re-reads the live servers; emits on `changes$` when the system model API moved. Never throws. */
  refresh(): Promise<void> {
    this.refreshing ??= this.read().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  stop(): void {
    this.changes.complete();
  }

  private async read(): Promise<void> {
    const { engine, store, own, log } = this.options;
    const now = (this.options.now ?? Date.now)();
    const ttlMs = this.options.ttlMs ?? DEFAULT_COMPONENT_TTL_MS;
    try {
      this.servers = engine.status().caughtUp ? liveServersOfView(engine, now, ttlMs) : await readLiveServers(store, now, ttlMs);
    } catch (error) {
      log.warn({ err: error }, 'could not read the component registry; keeping the system model API as it was');
      return;
    }
    const next = this.servers.reduce((system, server) => (server.key === this.options.key ? system : Math.min(system, server.max)), own.max);
    if (!this.initialized) {
      this.initialized = true;
      this.value = next;
      log.info({ system: next, own, liveServers: this.servers.length }, `system model API is ${next}; writing events at ${this.writeModel()}`);
      return;
    }
    if (next === this.value) return;
    const previous = this.value;
    this.value = next;
    log.info(
      { previous, system: next, own, liveServers: this.servers.map(({ key, max }) => ({ key, max })) },
      `system model API ${next > previous ? 'rose' : 'fell'} from ${previous} to ${next}; writing events at ${this.writeModel()}`,
    );
    this.changes.next(next);
  }
}
