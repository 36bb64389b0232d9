// The KurrentDB backend of the event store port (DESIGN.md §10); see README.md here.
export { openKurrentDbStore, KurrentDbEventStore, type KurrentDbStoreOptions } from './kurrentdb-store.js';
