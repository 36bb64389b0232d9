import type { Observable } from 'rxjs';
import { InvalidArgumentError, type EventStore } from '../../store/index.js';
import type { ModelApiRange } from '../../actors/component/events.js';
import type { Change } from '../change.js';
import { MODEL_API, assertModel, downcastView } from '../model/versions.js';
import { DEFAULT_COMPONENT_TTL_MS, systemModelApi } from '../model/registry.js';
import {
  VIEW_NAMES,
  cloneViewState,
  createEmptyViewState,
  type FoldedViewName,
  type ProcessView,
  type ViewName,
  type ViewState,
} from '../views/types.js';
import { withMinionPresence } from '../views/processes.js';
import { changesAfter, foldStoreRange, type ChangesAfterOptions } from './history.js';
import type { Logger } from '../../store/index.js';
import { EphemeralState, type EphemeralChange } from './ephemeral.js';
import { LiveViewFolding, type MemorySnapshot } from './live-folding.js';
import { connectionTenants, tenantOf, visibility } from './visibility.js';

export type { EphemeralChange } from './ephemeral.js';

export interface ProjectionEngineOptions {
  store: EventStore;
  /** where view snapshots are persisted (`<dataDir>/projections`); none when absent */
  snapshotDir?: string;
  /** this node's supported model API range; views and changes are served at `max` by default */
  modelApi: ModelApiRange;
  logger?: Logger;
  /** persist a snapshot after at least this many folded events (default 100,000) ... */
  snapshotEveryEvents?: number;
  /** ... or this long after the last one if anything changed (default 60 s) */
  snapshotEveryMs?: number;
  /** snapshot files kept (default 3) */
  keepSnapshots?: number;
  /** in-memory snapshots for time travel and resume: taken at least this many events apart (default 10,000) */
  memorySnapshotEveryEvents?: number;
  /** how many in-memory snapshots are kept (default 8) */
  memorySnapshots?: number;
  /** store page size for history reads (default 5,000) */
  pageSize?: number;
}

export interface ProjectionStatus {
  /** position of the last event folded into the views */
  position: number;
  /** newest position known in the store */
  head: number;
  lag: number;
  /** the views have caught up with the store at least once since start (readiness) */
  caughtUp: boolean;
}

export interface ViewQuery {
  /** only this tenant's objects */
  tenant?: string;
  /** the principal's visible tenants; `'*'` means all. Objects without a tenant (components) are visible to all. */
  tenants?: readonly string[];
  /** the view as it was right after this position */
  at?: number;
  /** the view as it was at this time (ISO 8601 or ms epoch) */
  atTime?: string | number;
  /** the model API to serve the objects at (default: this node's own) */
  model?: number;
}

/**
 * The projection engine: folds the store into the views of docs/architecture.md "Views", emits one batch
 * of changes per store batch, serves views now and at any past position, and persists
 * snapshots so a restart folds only the tail.
 *
 * The folding, the store subscription and the snapshot schedule live in `LiveViewFolding`
 * (live-folding.ts); this class is the query side: views now and at a past position or time
 * (time travel), history-then-live change streams, and the gateway's ephemeral changes.
 */
export class ProjectionEngine extends LiveViewFolding {
  readonly viewNames: readonly ViewName[] = VIEW_NAMES;
  readonly pageSize: number;
  private readonly served: ModelApiRange;
  private readonly ephemeral = new EphemeralState();

  /** Live change batches, one per store batch (plus ephemeral ones from the gateway). */
  readonly changes$: Observable<readonly Change[]> = this.changes.asObservable();

  constructor(options: ProjectionEngineOptions) {
    const { modelApi } = options;
    if (!modelApi || !Number.isInteger(modelApi.min) || !Number.isInteger(modelApi.max) || modelApi.min > modelApi.max) {
      throw new InvalidArgumentError(`invalid modelApi ${JSON.stringify(modelApi)}: expected integers {min, max} with min <= max`);
    }
    if (modelApi.max < MODEL_API.min || modelApi.min > MODEL_API.max) {
      throw new InvalidArgumentError(
        `modelApi ${modelApi.min}..${modelApi.max} does not overlap the model API this code supports (${MODEL_API.min}..${MODEL_API.max})`,
      );
    }
    const ownModel = Math.min(modelApi.max, MODEL_API.max);
    super(options, ownModel);
    this.served = { min: Math.max(modelApi.min, MODEL_API.min), max: ownModel };
    this.pageSize = options.pageSize ?? 5_000;
  }


  /** The system model API as the components view says now (null: no live server). */
  systemModelApi(now: number = Date.now(), ttlMs: number = DEFAULT_COMPONENT_TTL_MS): number | null {
    return systemModelApi(this.state.components, now, ttlMs);
  }

  /** History after `position`, then live: each change exactly once, in order (see history.ts). */
  changesAfter(position: number, options?: ChangesAfterOptions): Observable<readonly Change[]> {
    if (typeof position !== 'number' || !Number.isInteger(position) || position < 0) {
      throw new InvalidArgumentError(`invalid position ${JSON.stringify(position)}: expected an integer >= 0`);
    }
    return changesAfter(
      {
        store: this.store,
        ownModel: this.ownModel,
        pageSize: this.pageSize,
        position: () => this.positionValue,
        subscribeLive: (next, error, complete) => this.changes.subscribe({ next, error, complete }),
        stateAt: (at) => this.stateAt(at),
        onFoldError: (event, error) => this.reportFoldError(event, error),
      },
      position,
      options,
    );
  }

  /** A view's objects, now or as they were at a past position/time, at a model API version. */
  async view(name: string, query: ViewQuery = {}): Promise<object[]> {
    const viewName = this.assertViewName(name);
    const model = query.model === undefined ? this.ownModel : assertModel(query.model, this.served, 'model');
    const visible = visibility(query);
    if (viewName === 'connections') {
      if (query.at !== undefined || query.atTime !== undefined) {
        throw new InvalidArgumentError('the connections view is live only: it has no history (at/atTime)');
      }
      return [...this.ephemeral.connections.values()].filter((connection) => visible(connectionTenants(connection)));
    }
    let at = query.at;
    if (query.atTime !== undefined) {
      if (at !== undefined) throw new InvalidArgumentError('give either at (a position) or atTime, not both');
      at = await this.positionAtTime(query.atTime);
    }
    const state = at === undefined ? this.state : await this.stateAtChecked(at);
    const overlay = at === undefined && viewName === 'processes' && this.ephemeral.hasLiveStats;
    const result: object[] = [];
    for (let object of (state[viewName] as Map<string, object>).values()) {
      if (!visible(tenantOf(viewName, object))) continue;
      if (overlay) object = this.ephemeral.withLiveStats(object as ProcessView);
      if (viewName === 'processes') object = withMinionPresence(object as ProcessView, state.minions);
      result.push(model === MODEL_API.max ? object : downcastView(viewName, object, model));
    }
    return result;
  }

  /** One object of a view as it is now, or null. */
  get(name: string, key: string, options: { model?: number } = {}): object | null {
    const viewName = this.assertViewName(name);
    const model = options.model === undefined ? this.ownModel : assertModel(options.model, this.served, 'model');
    let object = viewName === 'connections' ? this.ephemeral.connections.get(key) : (this.state[viewName] as Map<string, object>).get(key);
    if (object !== undefined && viewName === 'processes') object = withMinionPresence(this.ephemeral.withLiveStats(object as ProcessView), this.state.minions);
    return object === undefined ? null : downcastView(viewName, object, model);
  }

  /**
   * The position of the last event appended at or before `time` (ISO 8601 or ms epoch): the
   * `at` that shows the log as it stood then (0 when before the first event).
   */
  async positionAtTime(time: string | number): Promise<number> {
    const ms = typeof time === 'number' ? time : Date.parse(time);
    if (typeof ms !== 'number' || !Number.isFinite(ms) || (typeof time === 'string' && !/^\d{4}-\d\d-\d\d/.test(time))) {
      throw new InvalidArgumentError(`invalid time ${JSON.stringify(time)}: expected an ISO 8601 date-time or ms since the epoch`);
    }
    return Math.max(0, (await this.store.positionAtTime(Math.floor(ms) + 1)) - 1);
  }

  /**
   * Publishes a change that is not stored (the gateway's `connections`, unsampled process
   * stats) on `changes$`. It carries the position of the last stored event, marked
   * `ephemeral` so clients can tell it from the stored event at that position. `connections`
   * changes also maintain the connections view (`destroy` removes the object).
   */
  publishEphemeral(change: EphemeralChange): Change {
    const { object, original } = this.ephemeral.apply(change, this.state.processes.get(change.key), this.ownModel);
    const full: Change = {
      position: change.position ?? this.positionValue,
      time: change.time ?? Date.now(),
      id: change.id ?? '',
      stream: change.stream ?? '',
      revision: change.revision ?? -1,
      type: change.type,
      action: change.action,
      key: change.key,
      tenant: change.tenant,
      schema: change.schema ?? this.ownModel,
      data: change.data ?? null,
      object,
      original,
      principal: change.principal,
      ephemeral: true,
    };
    if (!this.stopped) this.changes.next([full]);
    return full;
  }

  /** A private copy of the folded views as they were right after `position` (time travel). */
  async stateAt(position: number): Promise<ViewState> {
    let base: MemorySnapshot = { position: 0, state: createEmptyViewState() };
    if (position >= this.positionValue && this.positionValue > 0) base = { position: this.positionValue, state: this.state };
    else {
      for (let i = this.ring.length - 1; i >= 0; i--) {
        const entry = this.ring[i]!;
        if (entry.position <= position) {
          base = entry;
          break;
        }
      }
    }
    if (this.snapshots && base.position < position) {
      const onDisk = (await this.snapshots.list()).find((entry) => entry.position <= position);
      if (onDisk && onDisk.position > base.position) {
        const loaded = await this.snapshots.loadLatest(position);
        if (loaded && loaded.position > base.position) base = loaded;
      }
    }
    const state = cloneViewState(base.state);
    if (base.position < position) {
      await foldStoreRange(this.store, state, base.position, position, this.pageSize, (event, error) => this.reportFoldError(event, error));
    }
    return state;
  }

  private async stateAtChecked(at: number): Promise<ViewState> {
    if (typeof at !== 'number' || !Number.isInteger(at)) {
      throw new InvalidArgumentError(`invalid at ${JSON.stringify(at)}: expected a log position (an integer >= 0)`);
    }
    if (at < 0) throw new InvalidArgumentError(`at ${at} is before the start of the log (positions start at 0)`);
    if (at === this.positionValue) return this.state;
    const head = Math.max(this.positionValue, await this.store.headPosition());
    if (at > head) throw new InvalidArgumentError(`at ${at} is beyond the head of the log (${head})`);
    return this.stateAt(at);
  }

  private assertViewName(name: string): ViewName {
    if (!(VIEW_NAMES as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(`unknown view ${JSON.stringify(name)}: expected one of ${VIEW_NAMES.join(', ')}`, { field: 'view', value: name });
    }
    return name as ViewName;
  }


  /** Folded view maps, read-only by contract (tests and benchmarks compare them). */
  get views(): Readonly<Pick<ViewState, FoldedViewName>> & { leader: string | null } {
    return this.state;
  }
}

export function createProjectionEngine(options: ProjectionEngineOptions): ProjectionEngine {
  return new ProjectionEngine(options);
}

