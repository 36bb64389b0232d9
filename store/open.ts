import { InvalidArgumentError } from './errors.js';
import { MemoryEventStore } from './memory/memory-store.js';
import type { EventStore } from './types.js';

export type StoreKind = 'embedded' | 'memory' | 'kurrentdb';

export interface OpenStoreOptions {
  kind: StoreKind;
  /** the server's data directory; the embedded store lives in `<dataDir>/store` */
  dataDir?: string;
  /** KurrentDB connection string (`kurrentdb://...` or `esdb://...`) */
  url?: string;
  /** size limit of one encoded event (default 1 MiB) */
  maxEventBytes?: number;
}

/** Opens the configured backend. Backends other than memory are loaded on demand. */
export async function openStore(options: OpenStoreOptions): Promise<EventStore> {
  const { kind, dataDir, url, maxEventBytes } = options;
  if (maxEventBytes !== undefined && (!Number.isSafeInteger(maxEventBytes) || maxEventBytes < 1)) {
    throw new InvalidArgumentError(`invalid maxEventBytes ${String(maxEventBytes)}: must be an integer >= 1`);
  }
  switch (kind) {
    case 'memory':
      return new MemoryEventStore(maxEventBytes === undefined ? {} : { maxEventBytes });
    case 'embedded': {
      if (typeof dataDir !== 'string' || dataDir === '') throw new InvalidArgumentError('the embedded store needs a data directory (dataDir)');
      const { openEmbeddedStore } = await import('./embedded/index.js');
      return openEmbeddedStore(maxEventBytes === undefined ? { dataDir } : { dataDir, maxEventBytes });
    }
    case 'kurrentdb': {
      if (typeof url !== 'string' || url === '') throw new InvalidArgumentError('the kurrentdb store needs a connection string (url)');
      const { openKurrentDbStore } = await import('./kurrentdb/index.js');
      return openKurrentDbStore(maxEventBytes === undefined ? { url } : { url, maxEventBytes });
    }
    default:
      throw new InvalidArgumentError(`unknown store kind ${JSON.stringify(kind)}: expected 'embedded', 'memory' or 'kurrentdb'`);
  }
}
