import { loadavg } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LoadGenerator } from '../../ops/bench/gateway/loadgen.js';
import { TestClient, logLines, startHarness, waitForEngine, type Harness } from './harness.js';

// Must show (issue 6): one client stops reading while 200,000 events flow. It gets `lagged`,
// the server's memory stays bounded, the 100 other clients keep >= 90% of the throughput they
// had without it (measured in this test), and once it reads again it catches up with nothing
// missing. The 100 clients are the gateway benchmark's C load generator, in its own process:
// it only walks frame headers and counts events, so the clients keep up and the rates
// measure the server (Node clients parsing frames fell behind and were lagged themselves,
// which made the comparison noisy).
//
// How "their throughput without it" is measured: this machine's speed changes by a third for
// seconds at a time (seen here: 20,000-event segments at ~33k ev/s, then at ~50k, with no
// steal time), so a baseline taken before or after the stall can land in another speed than
// the stall itself (a run compared 38.9k during the stall with 43.6k before-and-after, 89%,
// while the server was no slower). So a second, identical server with its own 100 clients and
// no stalled client runs beside it, and the two take turns, segment by segment (ABBA order):
// each segment of the server under test has a control segment a moment away, in the same
// machine state. The must-show is the ratio of the two during the stall, divided by the same
// ratio without a stalled client (before it joins and after it leaves), which takes out any
// standing difference between the two servers. Short segments (10,000 events, ~0.2 s) and
// many turns: the machine's state also shifts within a second, so nearer turns agree better.
const FAST_CLIENTS = 100;
const SEGMENT_EVENTS = 10_000;
/** turns without a stalled client, before it joins and again after it leaves */
const BASELINE_TURNS = 10;
/** a fresh server speeds up over its first ~100,000 events (JIT tiers, the store's new pages): not part of either side */
const WARM_UP_EVENTS = 100_000;
const SLOW_RUN_EVENTS = 200_000;
const BOUND = 1024 * 1024;

/** A server with its 100 fast clients (the load generator). */
interface Side {
  name: string;
  h: Harness;
  clients: LoadGenerator;
  /** log events appended since the fast clients subscribed (each must receive all of them) */
  appended: number;
  /** fast clients that have been lagged so far (the client process counts them cumulatively) */
  lagged: number;
}

let tested: Side;
let control: Side;
const sides: Side[] = [];

async function startSide(name: string): Promise<Side> {
  const h = await startHarness({ store: 'embedded', limits: { maxBufferedBytes: BOUND } });
  const token = await h.token({ acme: 'read' }, 'fast');
  const port = Number(new URL(h.wsUrl).port);
  const clients = new LoadGenerator({ kind: 'corral', port, path: `/ws?token=${token}`, message: '{"op":"sub","id":"fast","select":"logs.*.*","batch":true}' }, FAST_CLIENTS, 1);
  const side: Side = { name, h, clients, appended: 0, lagged: 0 };
  sides.push(side);
  await clients.ready(60_000);
  return side;
}

beforeAll(async () => {
  tested = await startSide('tested');
  control = await startSide('control');
}, 120_000);
afterAll(async () => {
  for (const side of sides) {
    await side.clients.close();
    await side.h.close();
  }
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Appends `n` events to one side as fast as its store takes them; the rate (events/ms) until every fast client had the last one. */
async function flow(side: Side, n: number, sample?: () => void): Promise<{ rate: number; last: number }> {
  const started = performance.now();
  let last = 0;
  const sampler = sample ? setInterval(sample, 10) : null;
  for (let done = 0; done < n; done += 500) {
    const batch = logLines('acme', 'web', 0, 500, done);
    const result = await side.h.store.append(batch.stream, batch.events);
    last = result.positions.at(-1)!;
  }
  const reached = await side.clients.reach(last);
  const ms = performance.now() - started;
  if (sampler) clearInterval(sampler);
  side.appended += n;
  // every fast client got every event appended since it subscribed, each once
  expect(reached.minEvents).toBe(side.appended);
  expect(reached.maxEvents).toBe(side.appended);
  if (reached.lagged > side.lagged) {
    side.lagged = reached.lagged;
    console.warn(`slow-consumer: ${reached.lagged} of the ${side.name} server's fast clients have been lagged too (an oversubscribed machine); they caught up losslessly`);
  }
  return { rate: n / ms, last };
}

/** `segments` turns of one segment on each side (ABBA order); per turn, the tested side's rate over the control's. */
async function takeTurns(segments: number, sample?: () => void): Promise<{ ratios: number[]; tested: number[]; control: number[]; last: number }> {
  const result = { ratios: [] as number[], tested: [] as number[], control: [] as number[], last: 0 };
  for (let i = 0; i < segments; i++) {
    const testedFirst = i % 2 === 0;
    const first = await flow(testedFirst ? tested : control, SEGMENT_EVENTS, testedFirst ? sample : undefined);
    const second = await flow(testedFirst ? control : tested, SEGMENT_EVENTS, testedFirst ? undefined : sample);
    const [t, c] = testedFirst ? [first, second] : [second, first];
    result.tested.push(t.rate);
    result.control.push(c.rate);
    result.ratios.push(t.rate / c.rate);
    result.last = t.last;
  }
  return result;
}

it('a slow consumer is lagged and caught up losslessly without slowing 100 others', async () => {
  const h = tested.h;
  await takeTurns(WARM_UP_EVENTS / SEGMENT_EVENTS);
  const before = await takeTurns(BASELINE_TURNS);

  // The slow client joins the same group (same select, same sub id) and stops reading.
  const slowToken = await h.token({ acme: 'read' }, 'slow');
  const slow = await TestClient.open(`${h.wsUrl}/ws?token=${slowToken}`);
  slow.send({ op: 'sub', id: 'fast', select: 'logs.*.*', batch: true });
  const subscribed = await slow.find({ op: 'subscribed', id: 'fast' });
  const from = subscribed.position as number;
  (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
  const slowConnection = h.protocols.registry.all().find((c) => c.principal.subject === 'slow')!;

  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  let bufferedPeak = 0;
  let totalBufferedPeak = 0;
  let lagSeen = 0;
  const sample = (): void => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    bufferedPeak = Math.max(bufferedPeak, slowConnection.bufferedAmount());
    let total = 0;
    for (const connection of h.protocols.registry.all()) total += connection.bufferedAmount();
    totalBufferedPeak = Math.max(totalBufferedPeak, total);
    lagSeen = Math.max(lagSeen, slowConnection.view(h.engine.position).lag);
  };
  const stalled = await takeTurns(SLOW_RUN_EVENTS / SEGMENT_EVENTS, sample);
  const members = [...slowConnection.members];
  console.log(
    `stalled client: lag ${lagSeen}, its socket's buffered peak ${bufferedPeak} B, all sockets' buffered peak ${totalBufferedPeak} B; ` +
      `process RSS +${((rssPeak - rssBefore) / 1048576).toFixed(1)} MiB (mostly the two stores' pages of 2 x 200,000 new events)`,
  );

  // It was taken off live delivery and its buffer (the only memory the server holds for a
  // client: uWS's per-socket buffer; catch-up later holds one store page) stayed near the
  // bound. Unbounded, the 200,000 events would sit in that buffer: ~45 MiB.
  expect(members.every((member) => member.mode !== 'live')).toBe(true);
  expect(lagSeen).toBeGreaterThan(SLOW_RUN_EVENTS / 2);
  expect(bufferedPeak).toBeLessThan(2 * BOUND);
  expect(totalBufferedPeak).toBeLessThan(2 * BOUND + FAST_CLIENTS * 256 * 1024);

  // Reading again: `lagged` with the last delivered position, then everything, once, in order.
  (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  await waitForEngine(h.engine, stalled.last);
  await slow.until(() => slow.events('fast').at(-1)?.pos === stalled.last, 60_000, 'the slow client to catch up');
  const lagged = await slow.find({ op: 'lagged', sub: 'fast' });
  expect(lagged.pos).toBeGreaterThan(from);
  const positions = slow.events('fast').map((event) => event.pos as number);
  const expected = (await h.store.readAll({ after: from, limit: 1_000_000 })).map((event) => event.position);
  expect(positions.length).toBe(expected.length);
  expect(positions).toEqual(expected);
  await slow.find({ op: 'live', id: 'fast' });
  slow.close();
  await slow.until(() => slow.closed !== null, 10_000, 'the slow client to close');

  // The others kept their throughput: tested/control with the stalled client, over tested/control without it.
  const after = await takeTurns(BASELINE_TURNS);
  const alone = { ratios: [...before.ratios, ...after.ratios], tested: [...before.tested, ...after.tested], control: [...before.control, ...after.control] };
  const kept = median(stalled.ratios) / median(alone.ratios);
  const perSecond = (rates: number[]): string => rates.map((rate) => Math.round(rate * 1000)).join(' ');
  const ratios = (values: number[]): string => values.map((ratio) => ratio.toFixed(2)).join(' ');
  console.log(
    `fast clients kept ${(kept * 100).toFixed(0)}% of their throughput with a stalled client: tested/control ${median(stalled.ratios).toFixed(3)} ` +
      `during the stall, ${median(alone.ratios).toFixed(3)} without it; load average ${loadavg()[0]!.toFixed(1)}\n` +
      `  without (before, after): tested ${perSecond(alone.tested)}\n                           control ${perSecond(alone.control)}\n` +
      `                           ratios ${ratios(alone.ratios)}\n` +
      `  during the stall:        tested ${perSecond(stalled.tested)}\n                           control ${perSecond(stalled.control)}\n` +
      `                           ratios ${ratios(stalled.ratios)}`,
  );
  expect(kept).toBeGreaterThanOrEqual(0.9);
}, 300_000);
