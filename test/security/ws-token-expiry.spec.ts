// Issue 15 item 7: a websocket session ends with its token. At the token's expiry the socket is
// closed with 4001 (before, commands were acked on it 7 s after), and a client keeps its socket
// by sending a fresh token for the same subject and tenants on it (README, the native
// protocol: `{"op":"auth","token":...}`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, startHarness, type Harness } from '../gateway-ws/harness.js';

let h: Harness;
const TTL_MS = 1_500;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const open = (token: string): Promise<TestClient> => TestClient.open(`${h.wsUrl}/ws?token=${token}`);
/** Resolves once `ms` have passed since `from` (the expiry being tested is wall-clock time). */
const passed = (from: number, ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, from + ms - Date.now())));

describe('a websocket session and its token', () => {
  it('is closed with 4001 when the token expires', async () => {
    const issuedAt = Date.now();
    const client = await open(await h.token({ acme: 'operate' }, 'short', TTL_MS));
    client.send({ op: 'sub', id: 's', select: 'logs.*.*' });
    await client.find({ op: 'live', id: 's' });
    const closed = await client.waitClosed(TTL_MS + 5_000);
    expect(closed).toEqual({ code: 4001, reason: 'token expired: authenticate again (send {"op":"auth","token":...} before expiry to keep the socket)' });
    // not before the token's own expiry (second precision in the JWT)
    expect(Date.now() - issuedAt).toBeGreaterThanOrEqual(TTL_MS - 1_000);
  });

  it('stays open past the first expiry with a fresh token sent on it', async () => {
    const issuedAt = Date.now();
    const client = await open(await h.token({ acme: 'operate' }, 'renewing', TTL_MS));
    client.send({ op: 'auth', id: 'a', token: await h.token({ acme: 'operate' }, 'renewing', 60_000) });
    const renewed = await client.find({ op: 'authenticated', id: 'a' });
    expect(renewed.expiresAt).toBeGreaterThan(issuedAt + 30_000);
    await passed(issuedAt, TTL_MS + 1_500);
    client.send({ op: 'ping', id: 'p' });
    await client.find({ op: 'pong', id: 'p' });
    expect(client.closed).toBeNull();
    client.close();
  });

  it('refuses a fresh token for another subject or other rights, and keeps the old one', async () => {
    const client = await open(await h.token({ acme: 'read' }, 'reader', 60_000));
    client.send({ op: 'auth', id: 'x', token: await h.token({ acme: 'admin' }, 'reader', 60_000) });
    const refused = await client.find({ op: 'error', id: 'x' });
    expect(refused.message).toBe('a fresh token must be for the same subject and tenant roles as the socket (reader: {"acme":"read"}); open a new socket for other rights');
    client.send({ op: 'auth', id: 'y', token: 'not-a-token' });
    expect((await client.find({ op: 'error', id: 'y' })).code).toBe('unauthenticated');
    client.send({ op: 'ping', id: 'p' });
    await client.find({ op: 'pong', id: 'p' });
    client.close();
  });
});
