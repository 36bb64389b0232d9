import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, appendLogs, isObject, startHarness, waitForEngine, type Harness } from './harness.js';
import { runScenario } from './scenario.js';

let h: Harness;
let admin: string;
let acme: string;
beforeAll(async () => {
  h = await startHarness();
  admin = await h.token({ '*': 'admin' }, 'root');
  acme = await h.token({ acme: 'read' }, 'acme-reader');
});
afterAll(async () => {
  await h?.close();
});

describe('Salt /all_events and /formatted_events', () => {
  it('a bad token is HTTP 401 before the upgrade; nothing flows before "websocket client ready"', async () => {
    await expect(TestClient.open(`${h.wsUrl}/all_events/not-a-token`)).rejects.toMatchObject({ status: 401 });
    await expect(TestClient.open(`${h.wsUrl}/formatted_events/nope`)).rejects.toMatchObject({ status: 401 });
    const early = await TestClient.open(`${h.wsUrl}/all_events/${admin}`);
    const last = await appendLogs(h.store, 'acme', 2, 2);
    await waitForEngine(h.engine, last);
    early.send('hello');
    const ready = await TestClient.open(`${h.wsUrl}/all_events/${admin}`);
    ready.send('websocket client ready');
    await waitForMembers(1); // `early` never said it was ready
    const next = await appendLogs(h.store, 'acme', 1, 1);
    await ready.until((ms) => ms.some((m) => isObject(m) && (m.data as { pos?: number })?.pos === next));
    expect(early.messages).toEqual([]);
    const message = ready.messages.at(-1) as Record<string, unknown>;
    expect(message.tag).toBe('corral/logs/line/acme:web:0');
    expect(message.data).toMatchObject({ line: 'line 0', pos: next, tenant: 'acme' });
    expect(typeof (message.data as { _stamp: string })._stamp).toBe('string');
    early.close();
    ready.close();
  });

  it('formatted_events sends Salt-shaped minions and jobs from the views, only the principal’s tenants', async () => {
    const formatted = await TestClient.open(`${h.wsUrl}/formatted_events/${acme}`);
    formatted.send('websocket client ready');
    await formatted.until((ms) => ms.some((m) => isObject(m) && 'minions' in m));
    await waitForMembers(1);
    await runScenario(h.store);
    const job = (await formatted.until(
      (ms) => ms.find((m) => isObject(m) && isObject(m.jobs) && (Object.values(m.jobs)[0] as { state?: string }).state === 'complete'),
      10_000,
      'the completed job',
    )) as { jobs: Record<string, Record<string, unknown>> };
    expect(job.jobs['20261123153646699137']).toMatchObject({
      jid: '20261123153646699137',
      fun: 'test.ping',
      tgt: 'host1',
      tgt_type: 'list',
      state: 'complete',
      minions: { host1: { return: true, retcode: 0, success: true } },
    });
    expect(typeof job.jobs['20261123153646699137']!.start_time).toBe('string');
    const minion = formatted.messages.find((m) => isObject(m) && isObject(m.minions) && isObject((m.minions as Record<string, { grains?: object }>).host1?.grains) && Object.keys((m.minions as Record<string, { grains: object }>).host1!.grains).length > 0) as {
      minions: Record<string, Record<string, unknown>>;
    };
    expect(minion.minions.host1).toMatchObject({ id: 'host1', grains: { os: 'linux' } });
    expect(JSON.stringify(formatted.messages)).not.toContain('umbrella');
    formatted.close();
  });
});

describe('connections view and graceful stop', () => {
  it('GET /api/v1/connections lists principals’ own tenants’ connections with buffer and lag; admin sees all', async () => {
    const mine = await TestClient.open(`${h.wsUrl}/ws?token=${acme}`);
    mine.send({ op: 'sub', id: 's', select: 'logs.*.*' });
    await mine.find({ op: 'subscribed' });
    const rootSocket = await TestClient.open(`${h.wsUrl}/api/v3/ws?token=${admin}`);
    const asAcme = (await (await fetch(`${h.url}/api/v1/connections`, { headers: { authorization: `Bearer ${acme}` } })).json()) as Record<string, unknown>[];
    expect(asAcme.map((c) => c.principal)).toEqual(['acme-reader']);
    expect(asAcme[0]).toMatchObject({ kind: 'ws', tenants: ['acme'], subscriptions: ['logs.*.*'], bufferedBytes: 0, lag: 0 });
    expect(String(asAcme[0]!.key)).toMatch(/^127\.0\.0\.1:\d+$/);
    const asAdmin = (await (await fetch(`${h.url}/api/v1/connections`, { headers: { authorization: `Bearer ${admin}` } })).json()) as Record<string, unknown>[];
    expect(asAdmin.map((c) => c.kind).sort()).toEqual(['drp', 'ws']);
    const unauthenticated = await fetch(`${h.url}/api/v1/connections`);
    expect(unauthenticated.status).toBe(401);
    // the engine's connections view holds them too (ephemeral changes, never stored)
    expect((await h.engine.view('connections')).length).toBe(2);
    expect((await h.store.readAll({ types: ['connections'] })).length).toBe(0);
    mine.close();
    rootSocket.close();
  });

  it('stop(1012) closes every socket after the events already queued, so clients resume elsewhere', async () => {
    const client = await TestClient.open(`${h.wsUrl}/ws?token=${admin}`);
    client.send({ op: 'sub', id: 's', select: 'logs.*.*', batch: false });
    await client.find({ op: 'subscribed' });
    const last = await appendLogs(h.store, 'acme', 500, 500);
    await waitForEngine(h.engine, last);
    h.protocols.stop(1012);
    const closed = await client.waitClosed();
    expect(closed.code).toBe(1012);
    expect(client.events('s').at(-1)!.pos).toBe(last);
    expect(client.events('s')).toHaveLength(500);
  });
});

async function waitForMembers(count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (h.protocols.registry.all().filter((c) => c.members.size > 0).length < count) {
    if (Date.now() > deadline) throw new Error('members did not join');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
