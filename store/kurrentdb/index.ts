// The KurrentDB backend of the event store port (DESIGN.md §10); see README.md here.
export { openKurrentDbStore, type KurrentDbStoreOptions } from './open.js';
export { KurrentDbEventStore } from './kurrentdb-store.js';
