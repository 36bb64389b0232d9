// Issue 14 item 12: the slow-consumer bound (README: 1 MiB waiting unread, then `lagged`)
// holds on every path, also while history is replayed. A client that subscribes from the
// start of a log of large events and does not read holds at most the bound plus one frame in
// its socket's buffer; before, catch-up encoded and sent 1,024 events before it looked at
// the buffer (tens of MB for large job returns). Reading again, it gets every event once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/index.js';
import { TestClient, startHarness, waitForEngine, type Harness } from '../gateway-ws/harness.js';

const BOUND = 1024 * 1024;
const LINE_BYTES = 50_000;
const EVENTS = 400;

let h: Harness;
let last = 0;
beforeAll(async () => {
  h = await startHarness({ limits: { maxBufferedBytes: BOUND } });
  const line = 'x'.repeat(LINE_BYTES);
  for (let i = 0; i < EVENTS; i += 20) {
    const events = Array.from({ length: 20 }, (_, n) => ({ type: 'logs', action: 'line', key: 'acme:big:0', tenant: 'acme', data: { pid: 1, fd: 'stdout', line: `${i + n} ${line}` } }));
    last = (await h.store.append('log-acme:big:0', events)).positions.at(-1)!;
  }
  await waitForEngine(h.engine, last);
}, 60_000);
afterAll(async () => {
  await h.close();
});

type RawSocket = { _socket: { pause(): void; resume(): void } };

describe('catch-up of large events to a client that does not read', () => {
  for (const batch of [false, true]) {
    it(`keeps the socket's buffer within the bound plus one frame (batch: ${batch})`, async () => {
      const subject = `big-${batch}`;
      const token = await h.token({ acme: 'read' }, subject);
      const client = await TestClient.open(`${h.wsUrl}/ws?token=${token}`, {});
      const socket = (client.ws as unknown as RawSocket)._socket;
      socket.pause();
      client.send({ op: 'sub', id: 's', select: 'logs.*.*', from: 'start', batch });
      const connection = await waitForConnection(subject);
      // Watches the buffer until it has reached the bound, then for one more second: the
      // catch-up must wait for room instead of sending on.
      let peak = 0;
      let reachedAt = 0;
      await new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const timer = setInterval(() => {
          const buffered = connection.bufferedAmount();
          peak = Math.max(peak, buffered);
          if (reachedAt === 0 && buffered >= BOUND / 2) reachedAt = Date.now();
          if (reachedAt !== 0 && Date.now() - reachedAt > 1_000) (clearInterval(timer), resolve());
          if (Date.now() - started > 30_000) (clearInterval(timer), reject(new Error(`the buffer never reached ${BOUND / 2} B (at ${buffered})`)));
        }, 5);
      });
      socket.resume();
      await client.until(() => client.events('s').at(-1)?.pos === last, 60_000, 'the last event');
      // one event's frame, plus the websocket header;
      // a batch frame is at most half the bound
      const oneFrame = batch ? BOUND / 2 : Buffer.byteLength(JSON.stringify(client.events('s')[0])) + 16;
      expect(peak).toBeLessThan(BOUND + oneFrame);
      const positions = client.events('s').map((event) => event.pos as number);
      expect(positions).toEqual((await h.store.readAll({ after: 0, limit: 10_000 })).map((event) => event.position));
      client.close();
    }, 120_000);
  }
});

const waitForConnection = (subject: string) =>
  waitFor(() => h.protocols.registry.all().find((c) => c.principal.subject === subject), { description: `the connection of ${subject}` });

describe('websockets per principal', () => {
  const LIMIT = 3;
  let limited: Harness;
  beforeAll(async () => {
    limited = await startHarness({ limits: { maxConnectionsPerPrincipal: LIMIT } });
  });
  afterAll(async () => {
    await limited.close();
  });

  it(`are limited (here ${LIMIT}): the next one is refused with 4429 (Salt: HTTP 429), others are unaffected, and a closed one frees its place`, async () => {
    const token = await limited.token({ acme: 'read' }, 'greedy');
    const open = await Promise.all(Array.from({ length: LIMIT }, () => TestClient.open(`${limited.wsUrl}/ws?token=${token}`)));
    const refused = await TestClient.open(`${limited.wsUrl}/ws?token=${token}`);
    expect(await refused.waitClosed()).toEqual({ code: 4429, reason: `too many websocket connections for greedy (limit ${LIMIT}); close some first` });
    await expect(TestClient.open(`${limited.wsUrl}/all_events/${token}`)).rejects.toMatchObject({ status: 429 });

    // another principal is not affected
    const other = await TestClient.open(`${limited.wsUrl}/ws?token=${await limited.token({ acme: 'read' }, 'modest')}`);
    other.send({ op: 'ping', id: 'p' });
    await other.find({ op: 'pong', id: 'p' });

    open[0]!.close();
    await open[0]!.waitClosed();
    const again = await waitFor(async () => {
      const client = await TestClient.open(`${limited.wsUrl}/ws?token=${token}`);
      client.send({ op: 'ping', id: 'p' });
      return client.find({ op: 'pong', id: 'p' }, 2_000).then(() => client, () => null);
    }, { description: 'a socket to be accepted again after one closed' });
    for (const client of [...open.slice(1), again, other]) client.close();
  });
});
