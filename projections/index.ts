// Projections: the RxJS projection engine, views, the filter language, model-API versioning, time travel.
export type { Change } from './change.js';
export * from './filter/index.js';
