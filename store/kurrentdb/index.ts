// The KurrentDB backend of the event store port (docs/architecture.md "Event store"); see README.md here.
export { openKurrentDbStore, type KurrentDbStoreOptions } from './open.js';
export { KurrentDbEventStore } from './kurrentdb-store.js';
