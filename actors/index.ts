// Actors: XState machines (tenant, watcher, process, job) and the actor runtime.
export type * from './tenant/events.js';
export type * from './watcher/events.js';
export type * from './process/events.js';
export type * from './job/events.js';
export * from './minion/index.js';
export type * from './log/events.js';
export type * from './component/events.js';
export * from './job/index.js';
export * from './watcher/spec.js';
export { PROCESS_DEFINING_FIELDS } from './watcher/decide.js';
export * from './runtime/index.js';
