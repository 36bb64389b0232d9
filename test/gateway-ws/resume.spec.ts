import { afterAll, beforeAll, expect, it } from 'vitest';
import { seededRandom } from '../../projections/index.js';
import { TestClient, logLines, startHarness, type Harness } from './harness.js';

// Must show (issue 6): a client that disconnects at 100 random moments during a stream of
// 100,000 events, and resumes each time from the last position it saw, receives every event
// exactly once and in order (compared with the store's own log).
const TOTAL = 100_000;
const DISCONNECTS = 100;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ store: 'embedded' });
});
afterAll(async () => {
  await h?.close();
});

it('exactly-once resume across 100 random disconnects during 100,000 events', async () => {
  const token = await h.token({ acme: 'read' }, 'resumer');
  const random = seededRandom(6);
  const start = await h.store.headPosition();
  // Cut points: after how many received events each connection is dropped.
  const cuts = Array.from({ length: DISCONNECTS }, () => Math.floor(random() * TOTAL)).sort((a, b) => a - b);

  // The writer appends concurrently, in store batches of random size, including other
  // tenants' events the client must never see.
  let written = 0;
  const writer = (async () => {
    while (written < TOTAL) {
      const n = Math.min(TOTAL - written, 1 + Math.floor(random() * 200));
      const batch = logLines('acme', 'web', 0, n, written);
      await h.store.append(batch.stream, batch.events);
      if (random() < 0.1) {
        const other = logLines('umbrella', 'api', 1, 3);
        await h.store.append(other.stream, other.events);
      }
      written += n;
    }
  })();

  const received: number[] = [];
  let last = start;
  let cut = 0;
  let connections = 0;
  while (received.length < TOTAL) {
    const client = await TestClient.open(`${h.wsUrl}/ws?token=${token}`);
    connections++;
    client.send({ op: 'sub', id: 'r', select: 'logs.*.*', from: last, batch: random() < 0.5 });
    const stopAt = cut < cuts.length ? cuts[cut++]! : TOTAL;
    let consumed = 0;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        for (; consumed < client.messages.length && received.length < stopAt; consumed++) {
          const message = client.messages[consumed];
          for (const event of Array.isArray(message) ? message : [message]) {
            if (event.op !== 'event') continue;
            if (event.tenant !== 'acme') reject(new Error(`saw another tenant's event ${JSON.stringify(event)}`));
            received.push(event.pos as number);
            last = event.pos as number;
          }
        }
        if (received.length >= stopAt) {
          // alternate clean closes and abrupt drops, at arbitrary points inside the stream
          if (connections % 2 === 0) client.terminate();
          else client.close();
          resolve();
        } else if (client.closed) reject(new Error(`server closed the socket: ${client.closed.code}`));
      };
      client.ws.on('message', check);
      client.ws.on('close', check);
      check();
    });
  }
  await writer;
  const expected = (await h.store.readAll({ after: start, limit: 1_000_000, types: ['logs'] }))
    .filter((event) => event.tenant === 'acme')
    .map((event) => event.position);
  expect(expected).toHaveLength(TOTAL);
  expect(connections).toBeGreaterThanOrEqual(DISCONNECTS);
  // every event once, in order
  expect(received.length).toBe(TOTAL);
  expect(received).toEqual(expected);
}, 180_000);
