export { EmbeddedEventStore, openEmbeddedStore, type EmbeddedStoreOptions } from './embedded-store.js';
export { STORE_FORMAT, STORE_MARKER } from './layout.js';
