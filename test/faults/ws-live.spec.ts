// Issue 14 items 9 and 10 (README, the native protocol): every subscription announces `live`
// once it is live, also when it starts at the head (`from` equal to the last position, or
// "now"); and events that are never stored (`processes.stats`, `connections.*`) carry
// `"ephemeral": true`, since their `pos` is only the position of the last stored event: a
// client that de-duplicates by `pos` skips de-duplication for them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, appendLogs, isObject, startHarness, waitForEngine, type Harness } from '../gateway-ws/harness.js';

let h: Harness;
let admin: string;
beforeAll(async () => {
  h = await startHarness();
  admin = await h.token({ '*': 'admin' }, 'root');
});
afterAll(async () => {
  await h.close();
});

const open = (): Promise<TestClient> => TestClient.open(`${h.wsUrl}/ws?token=${admin}`);

describe('live frames', () => {
  for (const from of ['head', 'now', 'start'] as const) {
    it(`a subscription from ${from} announces live, after subscribed and before the live events`, async () => {
      const head = await appendLogs(h.store, 'acme', 3, 3);
      await waitForEngine(h.engine, head);
      const client = await open();
      client.send({ op: 'sub', id: 's', select: 'logs.*.*', from: from === 'head' ? head : from });
      const live = await client.find({ op: 'live', id: 's' });
      expect(live.position).toBe(head);
      const next = await appendLogs(h.store, 'acme', 1, 1);
      await client.until(() => client.events('s').at(-1)?.pos === next, 10_000, 'the next event');
      const ops = client.messages.map((m) => (m as { op: string }).op);
      expect(ops[0]).toBe('subscribed');
      expect(ops.filter((op) => op === 'live')).toHaveLength(1);
      // history (if any) before `live`, the new event after it
      expect(ops.lastIndexOf('live')).toBe(ops.length - 2);
      client.close();
    });
  }
});

describe('events that are never stored', () => {
  it('carry "ephemeral": true; stored events do not', async () => {
    const watcher = await open();
    watcher.send({ op: 'sub', id: 'c', select: 'connections.*.*' });
    watcher.send({ op: 'sub', id: 'l', select: 'logs.*.*' });
    await watcher.find({ op: 'live', id: 'l' });
    const head = await appendLogs(h.store, 'acme', 1, 1);
    await watcher.until(() => watcher.events('l').length === 1, 10_000, 'the stored event');
    const other = await open();
    const created = await watcher.until(() => watcher.events('c').find((e) => e.action === 'create'), 10_000, 'connections.create');
    expect(created).toMatchObject({ pos: head, ephemeral: true });
    expect(isObject(watcher.events('l')[0]) && 'ephemeral' in watcher.events('l')[0]!).toBe(false);
    other.close();
    watcher.close();
  });
});
