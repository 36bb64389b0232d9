import type { RecordedEvent } from '../../store/index.js';
import type { ComponentKind, ComponentState, ModelApiRange } from '../../actors/component/events.js';
import type { Grains } from '../../actors/minion/events.js';
import type { ReadinessSpec, RestartPolicy } from '../../actors/watcher/events.js';
import type { TargetType } from '../../actors/job/events.js';

/**
 * The view objects of docs/architecture.md "Views", at the newest model API this code knows (model 2).
 * `downcastView` (model/versions.ts) derives the older shapes. Times are ms epoch numbers
 * (like the event data they come from); wire formats may render them as ISO 8601.
 *
 * Invariant: a view object is immutable once it is in a view map. Every change builds a
 * new object (copy-on-write of that one object; untouched nested values are shared), so an
 * object already emitted as a change's `object`/`original`, or held by a snapshot, never
 * changes under its holder.
 */
export interface TenantView {
  key: string;
  name: string;
  state: 'active' | 'deleted';
  configVersion: number;
  /** number of watchers the tenant has */
  watchers: number;
  createdAt: number;
  reconfiguredAt: number | null;
}

export interface WatcherView {
  key: string;
  tenant: string;
  name: string;
  cmd: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string | null;
  numprocesses: number;
  active: boolean;
  minion: string;
  restart: RestartPolicy;
  ready: ReadinessSpec;
  stopSignal: string;
  stopWaitMs: number;
  logs: { maxLines: number };
  /** process keys of slots 0..numprocesses-1 */
  processes: readonly string[];
  createdAt: number;
  updatedAt: number;
}

/**
 * `unknown` is never folded: it is how a read shows a starting, running or stopping process
 * whose minion is disconnected (`withMinionPresence`), until the minion is back and reconciled.
 */
export type ProcessState = 'stopped' | 'starting' | 'running' | 'stopping' | 'backoff' | 'exited' | 'fatal' | 'unknown';

/** model API 2: how the last run ended */
export interface ProcessLastExit {
  code: number | null;
  signal: string | null;
  durationMs: number | null;
  usage: { cpuUserMs: number; cpuSystemMs: number; maxRssBytes: number } | null;
}

export interface ProcessView {
  key: string;
  tenant: string;
  watcher: string;
  slot: number;
  minion: string | null;
  state: ProcessState;
  /** the slot's current run (a reload's replacement run becomes it at `handover`) */
  runId: string | null;
  pid: number | null;
  ready: boolean;
  startedAt: number | null;
  exitedAt: number | null;
  exitCode: number | null;
  signal: string | null;
  /** spawns after the first */
  restarts: number;
  /** percent of one CPU */
  cpu: number;
  /** bytes */
  rss: number;
  /** model API 2 only (absent at model 1) */
  lastExit?: ProcessLastExit | null;
}

export interface MinionView {
  key: string;
  tenant: string;
  id: string;
  state: 'connected' | 'disconnected';
  connectedAt: number | null;
  lastSeen: number;
  version: string | null;
  grains: Partial<Grains>;
}

export interface JobMinionResult {
  state: 'pending' | 'returned' | 'timeout';
  return: unknown;
  retcode: number | null;
  success: boolean | null;
  durationMs: number | null;
}

export interface JobView {
  key: string;
  tenant: string;
  jid: string;
  fun: string;
  args: readonly unknown[];
  tgt: string;
  tgtType: TargetType;
  state: 'pending' | 'running' | 'complete' | 'failed' | 'timeout' | 'cancelled';
  user: string;
  timeoutMs: number;
  startTime: number;
  endTime: number | null;
  minions: Readonly<Record<string, JobMinionResult>>;
}

export interface ComponentView {
  key: string;
  kind: ComponentKind;
  host: string;
  pid: number;
  version: string;
  modelApi: ModelApiRange;
  state: ComponentState;
  /** true while this component holds the leader lease */
  leader: boolean;
  lastSeen: number;
  url: string | null;
}

/** Fed by the gateway through `publishEphemeral`; never stored, never replayed. */
export interface ConnectionView {
  key: string;
  principal: string;
  tenants: readonly string[];
  kind: 'ws' | 'drp' | 'salt' | 'minion';
  createdAt: number;
  subscriptions: number | readonly string[];
  bufferedBytes: number;
  lag: number;
  [extra: string]: unknown;
}

export interface ViewObjects {
  tenants: TenantView;
  watchers: WatcherView;
  processes: ProcessView;
  minions: MinionView;
  jobs: JobView;
  components: ComponentView;
}

/** Views folded from stored events (and therefore snapshotted and replayable). */
export type FoldedViewName = keyof ViewObjects;
export const FOLDED_VIEW_NAMES: readonly FoldedViewName[] = ['tenants', 'watchers', 'processes', 'minions', 'jobs', 'components'];
export type ViewName = FoldedViewName | 'connections';
export const VIEW_NAMES: readonly ViewName[] = [...FOLDED_VIEW_NAMES, 'connections'];

export type AnyView = ViewObjects[FoldedViewName] | ConnectionView;

/**
 * Everything the folded views know. The maps are the engine's private mutable containers;
 * the objects inside them are immutable (see above).
 */
export interface ViewState {
  tenants: Map<string, TenantView>;
  watchers: Map<string, WatcherView>;
  processes: Map<string, ProcessView>;
  minions: Map<string, MinionView>;
  jobs: Map<string, JobView>;
  components: Map<string, ComponentView>;
  /** component key holding the leader lease, as of the last `components.leader` event */
  leader: string | null;
}

export function createEmptyViewState(): ViewState {
  return {
    tenants: new Map(),
    watchers: new Map(),
    processes: new Map(),
    minions: new Map(),
    jobs: new Map(),
    components: new Map(),
    leader: null,
  };
}

/** Copies the containers only: O(objects), objects are shared (they are immutable). */
export function cloneViewState(state: ViewState): ViewState {
  return {
    tenants: new Map(state.tenants),
    watchers: new Map(state.watchers),
    processes: new Map(state.processes),
    minions: new Map(state.minions),
    jobs: new Map(state.jobs),
    components: new Map(state.components),
    leader: state.leader,
  };
}

export function countViewObjects(state: ViewState): number {
  return (
    state.tenants.size + state.watchers.size + state.processes.size + state.minions.size + state.jobs.size + state.components.size
  );
}

/** What folding one event did: the object after and before (null = absent). */
export interface FoldResult {
  object: object | null;
  original: object | null;
}

/** An envelope whose `action`/`data` are narrowed to one actor's event union. */
export type EventOf<E extends { action: string; data: unknown }> = Omit<RecordedEvent, 'action' | 'data'> & E;

export const UNCHANGED_ABSENT: FoldResult = Object.freeze({ object: null, original: null }) as FoldResult;
