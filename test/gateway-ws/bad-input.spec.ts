import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, appendLogs, isObject, startHarness, waitForEngine, type Harness } from './harness.js';

// Bad input on every protocol: a clear error (naming what was wrong and where) or a close
// code; the server and the other clients carry on.
let h: Harness;
let admin: string;
beforeAll(async () => {
  h = await startHarness({ limits: { maxSubscriptionsPerSocket: 16 } });
  admin = await h.token({ '*': 'admin' }, 'root');
});
afterAll(async () => {
  await h?.close();
});

const native = (): Promise<TestClient> => TestClient.open(`${h.wsUrl}/ws?token=${admin}`);

describe('native /ws bad input', () => {
  it('non-JSON, non-objects, unknown ops, missing fields, bad specifiers and hostile regexes get error ops', async () => {
    const client = await native();
    client.send('not json {');
    expect((await client.find({ op: 'error' })).message).toMatch(/not valid JSON/);
    client.send('[1,2]');
    client.send({ op: 'launch', id: 'x' });
    expect(await client.find({ op: 'error', id: 'x' })).toMatchObject({ code: 'bad-request', field: 'op' });
    client.send({ op: 'sub', id: 'a' });
    expect(await client.find({ op: 'error', id: 'a' })).toMatchObject({ field: 'select' });
    client.send({ op: 'sub', id: 'b', select: 'jobs.*' });
    const spec = await client.find({ op: 'error', id: 'b' });
    expect(spec).toMatchObject({ code: 'bad-request', position: 6 });
    client.send({ op: 'sub', id: 'c', select: 'jobs.*.*', filter: 'state=Eq("x"' });
    const filter = await client.find({ op: 'error', id: 'c' });
    expect(filter.position).toBe(12);
    expect(filter.message).toMatch(/character/);
    // catastrophic-backtracking pattern: RE2 runs it in linear time, or rejects it
    client.send({ op: 'sub', id: 'd', select: 'logs.*.*', filter: 'line=Re("(a+)+$")' });
    await client.until((ms) => ms.some((m) => isObject(m) && m.id === 'd' && (m.op === 'subscribed' || m.op === 'error')));
    client.send({ op: 'sub', id: 'e', select: 'logs.*.*', from: -5 });
    expect(await client.find({ op: 'error', id: 'e' })).toMatchObject({ field: 'from' });
    client.send({ op: 'sub', id: 'f', select: 'logs.*.*', from: 10 ** 9 });
    expect((await client.find({ op: 'error', id: 'f' })).message).toMatch(/beyond the head/);
    client.send({ op: 'sub', id: 'g', select: 'logs.*.*', model: 99 });
    expect(await client.find({ op: 'error', id: 'g' })).toMatchObject({ field: 'model' });
    client.send({ op: 'unsub', id: 'nope' });
    expect(await client.find({ op: 'error', id: 'nope' })).toMatchObject({ code: 'not-found' });
    client.send({ op: 'sub', id: 'd', select: 'logs.*.*' });
    await client.until((ms) => ms.filter((m) => isObject(m) && m.id === 'd').length >= 2);
    // a long hostile line is matched in linear time
    await appendLogs(h.store, 'acme', 1, 1);
    client.send({ op: 'ping', id: 'alive' });
    await client.find({ op: 'pong', id: 'alive' });
    client.close();
  });

  it('a per-socket subscription limit', async () => {
    const client = await native();
    for (let i = 0; i < 20; i++) client.send({ op: 'sub', id: `s${i}`, select: 'logs.*.*' });
    await client.until((ms) => ms.filter((m) => isObject(m) && (m.op === 'subscribed' || m.op === 'error')).length === 20);
    expect(client.messages.filter((m) => isObject(m) && m.op === 'subscribed')).toHaveLength(16);
    expect(client.messages.filter((m) => isObject(m) && m.op === 'error' && /too many subscriptions/.test(String(m.message)))).toHaveLength(4);
    client.close();
  });

  it('a frame over 1 MiB closes that socket only; 20 undecodable frames in a row close with 4400', async () => {
    const bystander = await native();
    bystander.send({ op: 'sub', id: 'b', select: 'logs.*.*' });
    await bystander.find({ op: 'subscribed', id: 'b' });
    const big = await native();
    big.send({ op: 'ping', pad: 'x'.repeat(1024 * 1024 + 10) });
    const closed = await big.waitClosed();
    expect(closed.code).not.toBe(1000);
    const garbage = await native();
    for (let i = 0; i < 20; i++) garbage.send(`garbage ${i}`);
    expect((await garbage.waitClosed()).code).toBe(4400);
    const last = await appendLogs(h.store, 'acme', 3, 3);
    await bystander.until(() => bystander.events('b').at(-1)?.pos === last);
    bystander.close();
  });
});

describe('fuzzing the frame parsers', () => {
  it('random frames on /ws, /api/v3/ws and /all_events never take the server or other clients down', async () => {
    const bystander = await native();
    bystander.send({ op: 'sub', id: 'b', select: 'logs.*.*' });
    await bystander.find({ op: 'subscribed', id: 'b' });
    const frame = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 3 }),
      fc.record({ op: fc.constantFrom('sub', 'unsub', 'ping', 'cmd', 'x'), id: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), select: fc.string(), filter: fc.string(), from: fc.anything(), model: fc.anything(), batch: fc.anything() }).map((r) => JSON.stringify(r)),
      fc.string().map((s) => `register ${s}`),
      fc.string().map((s) => `deregister ${s}`),
      fc.uint8Array({ maxLength: 300 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 30 }), fc.constantFrom('/ws', '/api/v3/ws', `/all_events/${admin}`), async (frames, path) => {
        const ws = new WebSocket(`${h.wsUrl}${path}${path.startsWith('/all') ? '' : `?token=${admin}`}`);
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', reject);
        });
        for (const f of frames) ws.send(f);
        ws.close();
        await new Promise((resolve) => ws.once('close', resolve));
      }),
      { numRuns: 60, seed: 7 },
    );
    const last = await appendLogs(h.store, 'acme', 2, 2);
    await waitForEngine(h.engine, last);
    await bystander.until(() => bystander.events('b').at(-1)?.pos === last);
    const health = await fetch(`${h.url}/health/live`);
    expect(health.status).toBe(200);
    bystander.close();
  });
});
