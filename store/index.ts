// The event store: the port, its backends, names and keys, and Corral's error types.
export * from './types.js';
export * from './errors.js';
export * from './keys.js';
export { writeFileAtomic, writeFileAtomicSync } from './atomic-file.js';
export { openStore, type OpenStoreOptions, type StoreKind } from './open.js';
export { MemoryEventStore, openMemoryStore, type MemoryStoreOptions } from './memory/index.js';
export { uuidv7, uuidv7Time, UUID_PATTERN } from './uuid.js';
// The embedded backend is loaded on demand by openStore (it pulls in the native lmdb addon).
export type { EmbeddedEventStore, EmbeddedStoreOptions } from './embedded/index.js';
export { silentLogger, type Logger } from './logger.js';
