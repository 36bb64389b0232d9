import { describe, expect, it } from 'vitest';
import { createActorRuntime, createLeaderLease, ManualClock, type LeaderLease } from '../../actors/index.js';
import { isUnavailableError, LEADER_STREAM, openStore } from '../../store/index.js';
import { FakeMinions } from './fake-minions.js';
import { until } from './harness.js';

const leases = async (store: Awaited<ReturnType<typeof openStore>>) =>
  (await store.readStream(LEADER_STREAM, { limit: 1000 })).map((e) => e.data as LeaderLease);

describe('leader lease (simulated clock)', () => {
  it('acquires when absent, renews by heartbeat, and a follower knows the leader', async () => {
    const store = await openStore({ kind: 'memory' });
    const clock = new ManualClock();
    const a = createLeaderLease({ store, clock, node: 'a:1', url: 'http://a', ttlMs: 9000 });
    const b = createLeaderLease({ store, clock, node: 'b:1', url: 'http://b', ttlMs: 9000 });
    await a.start();
    await b.start();
    expect(a.isLeader).toBe(true);
    expect(b.isLeader).toBe(false);
    expect(b.leaderUrl()).toBe('http://a');
    await clock.advance(3000);
    await until(async () => (await leases(store)).length >= 2, 'renewal');
    const history = await leases(store);
    expect(history[0]).toMatchObject({ holder: 'a:1', term: 1, expiresAt: clock.now() - 3000 + 9000 });
    expect(history.at(-1)).toMatchObject({ holder: 'a:1', term: 1, expiresAt: clock.now() + 9000 });
    // heartbeats keep it: a whole minute later a still leads, b still follows
    await clock.advance(60_000);
    expect(a.isLeader).toBe(true);
    expect(b.isLeader).toBe(false);
    await a.stop({ release: false });
    await b.stop();
  });

  it('a crashed leader (no release) loses the lease when it expires; a graceful stop hands it over at once', async () => {
    const store = await openStore({ kind: 'memory' });
    const clock = new ManualClock();
    const a = createLeaderLease({ store, clock, node: 'a:1', ttlMs: 10_000 });
    const b = createLeaderLease({ store, clock, node: 'b:1', ttlMs: 10_000 });
    await a.start();
    await b.start();
    await a.stop({ release: false }); // kill -9: no release
    await clock.advance(9_000);
    expect(b.isLeader).toBe(false);
    await clock.advance(1_500);
    await until(() => b.isLeader, 'b takes over after expiry');
    expect((await leases(store)).at(-1)).toMatchObject({ holder: 'b:1', term: 2 });

    const c = createLeaderLease({ store, clock, node: 'c:1', ttlMs: 10_000 });
    await c.start();
    expect(c.isLeader).toBe(false);
    await b.stop(); // graceful: released, c takes it without waiting for time to pass
    await until(() => c.isLeader, 'c takes over at once');
    const history = await leases(store);
    expect(history.slice(-2)).toMatchObject([{ holder: null, term: 2 }, { holder: 'c:1', term: 3 }]);
    await c.stop();
  });

  it('only the holder runs actors: a second runtime waits, refuses commands, and takes over on handover', async () => {
    const store = await openStore({ kind: 'memory' });
    const clock = new ManualClock();
    const minions = new FakeMinions(clock);
    const make = (node: string) =>
      createActorRuntime({ store, minions, clock, node, localMinion: 'm1', lease: createLeaderLease({ store, clock, node, url: `http://${node}`, ttlMs: 10_000 }) });
    const first = make('a:1');
    await first.start();
    await first.createTenant('acme', 'alice');
    const second = make('b:1');
    let started = false;
    const secondStart = second.start().then(() => (started = true));
    await clock.advance(30_000);
    expect(started).toBe(false);
    expect(second.isLeader).toBe(false);
    expect(second.leaderUrl()).toBe('http://a:1');
    const refused = await second.createTenant('other', 'alice').catch((e: unknown) => e);
    expect(isUnavailableError(refused)).toBe(true);
    await first.stop();
    await secondStart;
    expect(second.isLeader).toBe(true);
    // the new leader rehydrated what the old one recorded
    await expect(second.createTenant('acme', 'alice')).rejects.toMatchObject({ code: 'conflict' });
    await second.createTenant('other', 'alice');
    await second.stop();
  });
});

describe('leader lease (real time)', () => {
  it('hands over on release and on expiry with short TTLs', async () => {
    const store = await openStore({ kind: 'memory' });
    const a = createLeaderLease({ store, node: 'a:1', ttlMs: 300 });
    const b = createLeaderLease({ store, node: 'b:1', ttlMs: 300 });
    await a.start();
    await b.start();
    expect(a.isLeader).toBe(true);
    const released = Date.now();
    await a.stop();
    await until(() => b.isLeader, 'b after release', 2000);
    expect(Date.now() - released).toBeLessThan(250);
    await b.stop({ release: false });
    const c = createLeaderLease({ store, node: 'c:1', ttlMs: 300 });
    await c.start();
    // b renewed within the last ttl/3, so its lease is still valid for a while
    expect(c.isLeader).toBe(false);
    await until(() => c.isLeader, 'c after expiry', 3000);
    expect((await leases(store)).at(-1)).toMatchObject({ holder: 'c:1', term: 3 });
    await c.stop();
  });
});
