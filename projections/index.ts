// Projections: the RxJS projection engine, views, the filter language, model-API versioning, time travel.
export type { Change } from './change.js';
export * from './filter/index.js';

export {
  ProjectionEngine,
  createProjectionEngine,
  type ProjectionEngineOptions,
  type ProjectionStatus,
  type ViewQuery,
  type EphemeralChange,
} from './engine/engine.js';
export type { ChangesAfterOptions } from './engine/history.js';
// Pull-based history readers (catch-up sockets, audit routes): page the log, fold from `engine.stateAt`.
export { readEventPage, type EventPage } from './engine/history.js';
export { toChange, foldToChange, type FoldErrorHandler } from './engine/changes.js';
export { SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION, encodeSnapshot, decodeSnapshot, snapshotFileName } from './engine/snapshot-files.js';

export { foldEvent, logChangeObject } from './views/fold.js';
export { withMinionPresence } from './views/processes.js';
export { serializeViews } from './views/serialize.js';
export {
  VIEW_NAMES,
  FOLDED_VIEW_NAMES,
  createEmptyViewState,
  cloneViewState,
  type ViewName,
  type FoldedViewName,
  type ViewState,
  type TenantView,
  type WatcherView,
  type ProcessView,
  type ProcessLastExit,
  type ProcessState,
  type MinionView,
  type JobView,
  type JobMinionResult,
  type ComponentView,
  type ConnectionView,
} from './views/types.js';

export {
  MODEL_API,
  INTERNAL_MODEL,
  assertModel,
  convertEventData,
  upcastEvent,
  downcastEventData,
  downcastView,
  downcastChange,
} from './model/versions.js';
export {
  systemModelApi,
  assertCanJoin,
  writeModelApi,
  isLiveComponent,
  ComponentRegistry,
  ModelApiMismatchError,
  isModelApiMismatchError,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_COMPONENT_TTL_MS,
  type ComponentRegistryOptions,
} from './model/registry.js';
export { withWriteModel } from './model/write-model.js';

// Synthetic, deterministic workload (benchmarks and tests).
export { MixedWorkload, seededRandom, type WorkloadAppend, type WorkloadOptions } from './testing/workload.js';
