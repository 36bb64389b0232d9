// The event store: the port, its backends, names and keys, and Corral's error types.
export type * from './types.js';
export * from './errors.js';
export * from './keys.js';
