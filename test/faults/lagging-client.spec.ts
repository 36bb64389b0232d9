// Issue 14 item 1: a client that stops reading is lagged (taken off live delivery), caught up
// from the store and put back live, and over all of it receives every event exactly once, in
// order, with one event per frame (the default) as with `batch: true`. README (the native
// protocol): `lagged` names the last position delivered before the gap, and the catch-up
// starts right after it.
//
// Before the fix, the frames published to a socket in the turn it was lagged were dropped:
// leaving its only uWS topic freed the socket's subscriber while those frames were still
// queued for it (uWS drains topic messages at the end of the event-loop turn).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/index.js';
import { TestClient, appendLogs, startHarness, waitForEngine, type Harness } from '../gateway-ws/harness.js';

const BOUND = 64 * 1024;
const CYCLES = 6;
const EVENTS_PER_STALL = 4_000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ limits: { maxBufferedBytes: BOUND } });
}, 30_000);
afterAll(async () => {
  await h.close();
});

type RawSocket = { _socket: { pause(): void; resume(): void } };

describe('a lagging client', () => {
  for (const batch of [false, true]) {
    it(`misses nothing and gets nothing twice across repeated lags (batch: ${batch})`, async () => {
      const token = await h.token({ acme: 'read' }, `lagging-${batch}`);
      const client = await TestClient.open(`${h.wsUrl}/ws?token=${token}`);
      client.send({ op: 'sub', id: 's', select: 'logs.*.*', batch });
      const from = (await client.find({ op: 'subscribed', id: 's' })).position as number;
      const socket = (client.ws as unknown as RawSocket)._socket;
      const connection = h.protocols.registry.all().find((c) => c.principal.subject === `lagging-${batch}`)!;

      let last = from;
      let lags = 0;
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        // Live again after the previous lag's catch-up, then stops reading while events flow
        // until the server has lagged it, then reads again while more flow.
        await waitFor(() => [...connection.members].every((m) => m.mode === 'live'), { timeoutMs: 60_000, description: `the subscription to be live before cycle ${cycle}` });
        socket.pause();
        const laggedBefore = client.messages.filter((m) => (m as { op?: string }).op === 'lagged').length;
        for (let i = 0; [...connection.members].every((m) => m.mode === 'live'); i++) {
          // the kernel's socket buffers take several MB before uWS buffers anything
          if (i > 3_000) throw new Error(`cycle ${cycle}: not lagged after ${i * 100} events`);
          last = await appendLogs(h.store, 'acme', 100, 50);
          await new Promise((resolve) => setImmediate(resolve));
        }
        last = await appendLogs(h.store, 'acme', EVENTS_PER_STALL, 50);
        socket.resume();
        last = await appendLogs(h.store, 'acme', EVENTS_PER_STALL, 50);
        await client.until(() => client.messages.filter((m) => (m as { op?: string }).op === 'lagged').length > laggedBefore, 20_000, `lagged in cycle ${cycle}`);
        lags++;
      }
      await waitForEngine(h.engine, last);
      await client.until(() => client.events('s').at(-1)?.pos === last, 60_000, 'the client to catch up to the last event');

      const received = client.events('s').map((event) => event.pos as number);
      const stored = (await h.store.readAll({ after: from, limit: 10_000_000 })).filter((e) => e.type === 'logs').map((e) => e.position);
      const seen = new Set(received);
      const missing = stored.filter((position) => !seen.has(position));
      expect({ lags, missing: missing.length, firstMissing: missing.slice(0, 5) }).toEqual({ lags: CYCLES, missing: 0, firstMissing: [] });
      expect(received).toEqual(stored);

      // Each `lagged.pos` is true: every stored event up to it had arrived before the notice.
      let arrived = 0;
      for (const message of client.messages) {
        for (const item of Array.isArray(message) ? message : [message]) {
          const { op, pos } = item as { op?: string; pos?: number };
          if (op === 'event') arrived++;
          if (op === 'lagged') expect(arrived).toBe(stored.filter((position) => position <= pos!).length);
        }
      }
      client.close();
    }, 120_000);
  }
});
