// The benchmark's numbers are only as good as its load generator: it must count every event
// exactly once, in both framings, against a bare uWS peer and the real Corral gateway.
import { afterEach, describe, expect, it } from 'vitest';
import { LoadGenerator, type LoadReport } from './loadgen.js';
import { makeEvents, startCorral, startRawUws, type Framing, type Peer } from './peers.js';

let peer: Peer | null = null;
let clients: LoadGenerator | null = null;

afterEach(async () => {
  clients?.stop();
  clients = null;
  await peer?.stop();
  peer = null;
});

async function reportWhen(generator: LoadGenerator, done: (report: LoadReport) => boolean): Promise<LoadReport> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const report = await generator.report();
    if (done(report) || Date.now() > deadline) return report;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('gateway benchmark load generator (loadgen.c)', () => {
  for (const [name, start] of [
    ['raw uWS', startRawUws],
    ['corral', startCorral],
  ] as const) {
    for (const framing of ['event', 'batch'] as Framing[]) {
      it(`counts every event of a ${name} peer exactly, ${framing} framing`, async () => {
        peer = await start(framing);
        clients = new LoadGenerator(peer.client, 20, 2); // 10 clients in group 0, 10 in group 1
        await clients.ready(30_000);
        await clients.reset(1);
        for (let i = 0; i < 3; i++) await peer.publish(0, makeEvents(0, 50));
        await peer.publish(1, makeEvents(1, 7));
        const expected = 10 * 150 + 10 * 7;
        const report = await reportWhen(clients, (r) => r.events >= expected);
        expect(report.events).toBe(expected);
        expect(report.minEvents).toBe(7);
        expect(report.closed).toBe(0);
        if (framing === 'event') expect(report.frames).toBe(expected);
        else expect(report.frames).toBeLessThan(expected);
        // latency samples: append time -> receipt, on one clock
        expect(report.samples).toBeGreaterThan(0);
        expect(report.p50Ms).toBeGreaterThanOrEqual(0);
        expect(report.p99Ms).toBeLessThan(10_000);
        // nothing more arrives: no event counted twice
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect((await clients.report()).events).toBe(expected);
      });
    }
  }

  it('a wait for a position that is not reached says which clients are short of it, and rejects at once when the server closed one', async () => {
    const corral = await startCorral('batch');
    peer = corral;
    clients = new LoadGenerator(corral.client, 4, 1);
    await clients.ready(30_000);
    await corral.publish(0, makeEvents(0, 10));
    await reportWhen(clients, (r) => r.minEvents >= 10);
    // a position nobody reaches: the timeout says which clients are short of it and how
    await expect(clients.reach(1_000_000, 300)).rejects.toThrow(/short of it: \{"behind":\[\{"client":0,"state":"open","position":\d+,"lagged":0\}.*\],"total":4\}/);
    peer = null;
    await corral.stop(); // closes every socket with 1001
    const started = Date.now();
    await expect(clients.reach(1_000_000)).rejects.toThrow(/^the load generator: client \d was closed \(code 1001\) at position \d+, before 1000000$/);
    expect(Date.now() - started).toBeLessThan(10_000); // not the 120 s timeout
  });
});
