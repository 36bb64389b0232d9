import { KurrentDBClient } from '@kurrent/kurrentdb-client';
import { InvalidArgumentError, UnavailableError, isUnavailableError } from '../errors.js';
import { DEFAULT_MAX_EVENT_BYTES, type EventStore } from '../types.js';
import { KurrentDbEventStore } from './kurrentdb-store.js';
import { checkNamespace } from './mapping.js';

export interface KurrentDbStoreOptions {
  /** connection string, e.g. `kurrentdb://localhost:2113?tls=false` */
  url: string;
  /** size limit of one encoded event (data + envelope metadata); default 1 MiB */
  maxEventBytes?: number;
  /**
   * Optional prefix so that several Corral clusters (or test runs) share one KurrentDB:
   * stream `s` is stored as `<namespace>/s`, and $all reads only see this namespace.
   * Also accepted as `corralNamespace=<ns>` in the connection string.
   */
  namespace?: string;
}

export async function openKurrentDbStore(options: KurrentDbStoreOptions): Promise<EventStore> {
  if (typeof options?.url !== 'string' || options.url === '') {
    throw new InvalidArgumentError('the KurrentDB store needs a connection string (store.url), e.g. kurrentdb://localhost:2113?tls=false');
  }
  const maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  if (!Number.isSafeInteger(maxEventBytes) || maxEventBytes < 1) {
    throw new InvalidArgumentError(`invalid maxEventBytes ${String(options.maxEventBytes)}: must be an integer >= 1`);
  }
  const { connectionString, namespaceParam } = splitNamespaceParam(options.url);
  const namespace = checkNamespace(options.namespace ?? namespaceParam);
  let client: KurrentDBClient;
  try {
    client = KurrentDBClient.connectionString(connectionString);
  } catch (error) {
    throw new InvalidArgumentError(`invalid KurrentDB connection string ${JSON.stringify(redact(options.url))}: ${(error as Error).message}`);
  }
  const store = new KurrentDbEventStore(client, maxEventBytes, namespace);
  try {
    // fail fast at startup with a clear error rather than on the first request
    await store.headPosition();
  } catch (error) {
    await client.dispose().catch(() => undefined);
    if (isUnavailableError(error)) {
      throw new UnavailableError(`cannot reach KurrentDB at ${redact(options.url)}: ${error.message}`, error.details);
    }
    throw error;
  }
  return store;
}

const redact = (url: string): string => url.replace(/\/\/[^@/]*@/, '//***@');

/**
 * `corralNamespace=<ns>` in the connection string selects the namespace, so a server's
 * configuration needs nothing but `store.url`. It is Corral's, so it is removed before the
 * string reaches the client.
 */
export function splitNamespaceParam(url: string): { connectionString: string; namespaceParam: string | undefined } {
  const match = /([?&])corralNamespace=([^&]*)(&?)/.exec(url);
  if (match === null) return { connectionString: url, namespaceParam: undefined };
  const [whole, separator, value, trailing] = match as unknown as [string, string, string, string];
  const rest = trailing === '&' ? separator : '';
  const connectionString = (url.slice(0, match.index) + rest + url.slice(match.index + whole.length)).replace(/[?&]$/, '');
  return { connectionString, namespaceParam: decodeURIComponent(value) };
}
