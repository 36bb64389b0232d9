import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, UnavailableError } from '../errors.js';
import { describeEventStoreContract } from '../testing/contract.js';
import { openKurrentDbStore } from './index.js';
import { splitNamespaceParam } from './open.js';

/**
 * The contract suite runs against a real KurrentDB when CORRAL_KURRENTDB_URL is set, e.g.
 *   CORRAL_KURRENTDB_URL=kurrentdb://localhost:2113?tls=false npx vitest run store/kurrentdb
 * Each run writes under a namespace of its own (`corral-test-...`), so runs never see
 * each other's events and the server need not be empty.
 */
const url = process.env.CORRAL_KURRENTDB_URL;
const runNamespace = `corral-test-${Date.now().toString(36)}-${process.pid}`;

describe.skipIf(!url)(url ? 'kurrentdb contract' : 'kurrentdb contract (skipped: CORRAL_KURRENTDB_URL is not set)', () => {
  describeEventStoreContract(
    'kurrentdb',
    async () => {
      const store = await openKurrentDbStore({ url: url!, namespace: runNamespace });
      return { store, cleanup: () => store.close() };
    },
    { gaplessPositions: false },
  );
});

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('opening the kurrentdb store (no server needed)', () => {
  it('fails fast with UnavailableError when nothing answers at the URL', async () => {
    const port = await closedPort();
    const error = await openKurrentDbStore({ url: `kurrentdb://127.0.0.1:${port}?tls=false&maxDiscoverAttempts=1` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).code).toBe('unavailable');
    expect((error as Error).message).toMatch(/KurrentDB is unavailable/);
  });

  it('rejects a malformed connection string, namespace or size limit with a clear error', async () => {
    const rejects = async (options: Parameters<typeof openKurrentDbStore>[0], message: RegExp): Promise<void> => {
      const error = await openKurrentDbStore(options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(message);
    };
    await rejects({ url: 'http://user:secret@localhost:2113' }, /invalid KurrentDB connection string "http:\/\/\*\*\*@localhost:2113"/);
    await rejects({ url: '' }, /needs a connection string/);
    await rejects({ url: 'kurrentdb://localhost:2113', namespace: 'a/b' }, /invalid KurrentDB namespace/);
    await rejects({ url: 'kurrentdb://localhost:2113', maxEventBytes: 0 }, /invalid maxEventBytes/);
  });
});

describe('the corralNamespace connection-string parameter', () => {
  it('is taken out of the connection string wherever it sits', () => {
    expect(splitNamespaceParam('kurrentdb://h:2113?tls=false')).toEqual({ connectionString: 'kurrentdb://h:2113?tls=false', namespaceParam: undefined });
    expect(splitNamespaceParam('kurrentdb://h:2113?corralNamespace=prod')).toEqual({ connectionString: 'kurrentdb://h:2113', namespaceParam: 'prod' });
    expect(splitNamespaceParam('kurrentdb://h:2113?corralNamespace=prod&tls=false')).toEqual({ connectionString: 'kurrentdb://h:2113?tls=false', namespaceParam: 'prod' });
    expect(splitNamespaceParam('kurrentdb://h:2113?tls=false&corralNamespace=prod')).toEqual({ connectionString: 'kurrentdb://h:2113?tls=false', namespaceParam: 'prod' });
    expect(splitNamespaceParam('kurrentdb://h:2113?tls=false&corralNamespace=prod&x=1')).toEqual({ connectionString: 'kurrentdb://h:2113?tls=false&x=1', namespaceParam: 'prod' });
  });

  it('is validated like the namespace option', async () => {
    const error = await openKurrentDbStore({ url: 'kurrentdb://localhost:2113?corralNamespace=a%2Fb' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/invalid KurrentDB namespace "a\/b"/);
  });
});
