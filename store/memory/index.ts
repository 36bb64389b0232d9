export { MemoryEventStore, openMemoryStore, type MemoryStoreOptions } from './memory-store.js';
