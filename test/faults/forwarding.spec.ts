// Issue 14 item 7 (docs/operations.md, "Commands on any node"): a node that does not run the
// actors forwards commands to the one that does, over HTTP sealed with the cluster secret, so
// a client may send them to any node. The caller's principal and `expectedRevision` arrive
// unchanged (the event records the caller; a stale revision is the leader's 409), the role
// check still applies, websocket `cmd`s are forwarded too, and a forged forward is refused.
// Before, the follower answered 503 with `leaderUrl`.
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { httpJson, removeTempDirs, runCorral, waitFor } from '../support/index.js';
import { cleanupCorral, startCorral, waitRunning } from '../ops-e2e/support.js';

afterAll(async () => {
  await cleanupCorral();
  removeTempDirs();
}, 120_000);

const config = { tenants: { acme: { watchers: { web: { cmd: 'sleep', args: ['4501'] } } } } };

describe('a command sent to a follower', () => {
  it('is run by the leader with the caller’s principal and expectedRevision', async () => {
    const leader = await startCorral({ config });
    await waitRunning(leader.url, leader.token, 'acme', 'web', 1);
    const follower = await startCorral({ dataDir: leader.dataDir, config });
    const url = follower.url;
    expect(url).not.toBe(leader.url);
    const token = (await runCorral(['token', '--data-dir', leader.dataDir, '--tenant', 'acme', '--role', 'admin', '--ttl', '1h', '--sub', 'alice'])).stdout.trim();

    const created = await httpJson(`${url}/api/v1/tenants/acme/watchers`, { token, body: { name: 'added', cmd: 'sleep', args: ['4502'] }, headers: { 'x-correlation-id': 'trace-42' } });
    expect(created.status, created.text).toBe(201);
    await waitRunning(leader.url, leader.token, 'acme', 'added', 1);
    const events = await httpJson(`${leader.url}/api/v1/tenants/acme/events?select=watchers.create.acme:added`, { token });
    const meta = (events.body as { events: { meta: { principal: string; correlationId: string } }[] }).events.map((e) => e.meta);
    expect(meta.map((m) => [m.principal, m.correlationId])).toEqual([['alice', 'trace-42']]);
    const badId = await httpJson(`${url}/api/v1/tenants/acme/watchers`, { token, body: { name: 'other', cmd: 'true' }, headers: { 'x-correlation-id': 'no spaces allowed' } });
    expect(badId.status).toBe(400);
    expect((badId.body as { error: { message: string } }).error.message).toMatch(/^X-Correlation-Id must be 1 to 128/);

    // expectedRevision travels: a stale one is the leader's 409 with the current revision
    expect((await httpJson(`${url}/api/v1/tenants/acme/watchers/added`, { method: 'PATCH', token, body: { numprocesses: 2 } })).status).toBe(200);
    const stale = await httpJson(`${url}/api/v1/tenants/acme/watchers/added`, { method: 'PATCH', token, body: { numprocesses: 2 }, headers: { 'if-match': '0' } });
    expect(stale.status, stale.text).toBe(409);
    expect(stale.body).toMatchObject({ error: { code: 'conflict', expectedRevision: 0 } });
    expect(typeof (stale.body as { error: { currentRevision: unknown } }).error.currentRevision).toBe('number');

    // roles still hold on the follower
    const reader = (await runCorral(['token', '--data-dir', leader.dataDir, '--tenant', 'acme', '--role', 'read', '--ttl', '1h', '--sub', 'bob'])).stdout.trim();
    expect((await httpJson(`${url}/api/v1/tenants/acme/watchers`, { token: reader, body: { name: 'nope', cmd: 'true' } })).status).toBe(403);

    // websocket commands on the follower are forwarded as well
    const ack = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?token=${token}`);
      ws.on('open', () => ws.send(JSON.stringify({ op: 'cmd', id: 'c1', name: 'watchers.stop', tenant: 'acme', args: { name: 'added' }, correlationId: 'trace-43' })));
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as Record<string, unknown>;
        if (message.id === 'c1') (ws.close(), resolve(message));
      });
      ws.on('error', reject);
    });
    expect(ack).toMatchObject({ op: 'ack', id: 'c1' });
    const stopped = await httpJson(`${leader.url}/api/v1/tenants/acme/events?select=watchers.stop.acme:added`, { token });
    expect((stopped.body as { events: { meta: { correlationId: string } }[] }).events.map((e) => e.meta.correlationId)).toEqual(['trace-43']);

    // a forged forward (no or a wrong seal) is refused
    const forged = await httpJson(`${leader.url}/internal/v1/commands`, {
      body: { sentAt: Date.now(), name: 'tenants.destroy', tenant: 'acme', args: {}, expectedRevision: null, principal: { subject: 'mallory', tenants: { '*': 'admin' }, source: 'token', expiresAt: null } },
      headers: { 'x-corral-forward-mac': 'AAAA' },
    });
    expect(forged.status).toBe(401);
    await waitFor(async () => (await httpJson(`${leader.url}/api/v1/tenants/acme`, { token })).status === 200, { description: 'acme still exists' });
  }, 180_000);
});
