import { afterEach, describe, expect, it } from 'vitest';
import { createJobService, SimulatedClock, type JobService, type RunJobCommand } from '../../actors/index.js';
import { openStore, type EventStore } from '../../store/index.js';
import { FakeMinionPort, foldJob, readJobEvents, waitFor } from './support.js';

const TENANT = 'acme';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function memoryStore(): Promise<EventStore> {
  const store = await openStore({ kind: 'memory' });
  cleanups.push(() => store.close());
  return store;
}

function service(store: EventStore, port: FakeMinionPort, clock: SimulatedClock, node: string): JobService {
  const jobs = createJobService({ store, minions: port, clock, node });
  port.attach(jobs);
  cleanups.push(() => jobs.stop());
  return jobs;
}

const jobState = async (store: EventStore, jid: string) => foldJob(await readJobEvents(store, TENANT, jid));

describe('rehydration (a new leader resumes jobs from the store)', () => {
  it('returns after a restart complete the job with every return recorded once', async () => {
    const store = await memoryStore();
    const clock = new SimulatedClock();
    const minions = [{ id: 'web1', answer: 'never' as const }, { id: 'web2', answer: 'never' as const }, { id: 'web3', answer: 'never' as const }];
    const portA = new FakeMinionPort(TENANT, minions);
    const first = service(store, portA, clock, 'node-a:1');
    const job = await first.createJob({ tenant: TENANT, fun: 'test.ping', tgt: 'web*', timeoutMs: 60_000, principal: 'alice' });
    const command = portA.commandsFor(job.jid, 'runJob')[0]!.command as RunJobCommand;
    await portA.reply('web1', command);
    await first.stop(); // the old leader goes away mid-job

    const portB = new FakeMinionPort(TENANT, minions);
    const second = service(store, portB, clock, 'node-b:1');
    expect(await second.resume()).toEqual({ resumed: 1, expired: 0 });
    expect(second.runningJobs).toBe(1);
    // agents resend unacknowledged returns to the new server: web1 again, then the others
    await portB.attach(second).reply('web1', command);
    await portB.reply('web2', command);
    await portB.reply('web3', command);
    await portB.reply('web3', command);
    const state = await jobState(store, job.jid);
    expect(state).toMatchObject({ state: 'complete', returns: 3 });
    const events = await readJobEvents(store, TENANT, job.jid);
    expect(events.filter((event) => event.action === 'return').map((event) => (event.data as { minion: string }).minion)).toEqual(['web1', 'web2', 'web3']);
    expect(events.at(-1)!.meta.node).toBe('node-b:1');
    // the new node did not re-send the function to minions (it may be running still)
    expect(portB.sent).toEqual([]);
    expect(portA.errors).toEqual([]);
    expect(portB.errors).toEqual([]);
  });

  it('re-arms the recorded timeout and fires it once', async () => {
    const store = await memoryStore();
    const clock = new SimulatedClock();
    const minions = [{ id: 'web1', answer: 'never' as const }];
    const first = service(store, new FakeMinionPort(TENANT, minions), clock, 'node-a:1');
    const job = await first.createJob({ tenant: TENANT, fun: 'test.sleep', args: [30], tgt: '*', timeoutMs: 10_000, principal: 'alice' });
    await first.stop();
    expect(clock.pendingTimers).toBe(0);

    clock.advance(4000);
    const second = service(store, new FakeMinionPort(TENANT, minions), clock, 'node-b:1');
    expect(await second.resume()).toEqual({ resumed: 1, expired: 0 });
    expect(clock.pendingTimers).toBe(1);
    clock.advance(5999);
    expect((await jobState(store, job.jid)).state).toBe('running');
    clock.advance(1);
    await waitFor(async () => (await jobState(store, job.jid)).state === 'timeout', { what: 'timeout after resume' });
    expect(clock.pendingTimers).toBe(0);
    expect((await readJobEvents(store, TENANT, job.jid)).filter((event) => event.action === 'timeout')).toHaveLength(1);
  });

  it('an overdue timeout fires once after rehydration, even if resume runs twice or two nodes resume', async () => {
    const store = await memoryStore();
    const clock = new SimulatedClock();
    const minions = [{ id: 'web1', answer: 'never' as const }, { id: 'web2', answer: 'never' as const }];
    const first = service(store, new FakeMinionPort(TENANT, minions), clock, 'node-a:1');
    const jobs = await Promise.all(
      [1, 2, 3].map(() => first.createJob({ tenant: TENANT, fun: 'test.ping', tgt: '*', timeoutMs: 1000, principal: 'alice' })),
    );
    await first.stop();
    clock.advance(60_000); // the leader was away for a minute: every job is overdue

    const second = service(store, new FakeMinionPort(TENANT, minions), clock, 'node-b:1');
    const third = service(store, new FakeMinionPort(TENANT, minions), clock, 'node-c:1');
    const summaries = await Promise.all([second.resume(), third.resume(), second.resume()]);
    expect(summaries.reduce((sum, summary) => sum + summary.expired, 0)).toBeGreaterThanOrEqual(3);
    clock.advance(10_000);
    for (const job of jobs) {
      const events = await readJobEvents(store, TENANT, job.jid);
      expect(events.map((event) => event.action)).toEqual(['create', 'dispatch', 'timeout']);
      expect(events[2]!.data).toEqual({ minions: ['web1', 'web2'] });
    }
    expect(await second.resume()).toEqual({ resumed: 0, expired: 0 });
  });

  it('finished jobs are not resumed, and a return for one loaded on demand is ignored', async () => {
    const store = await memoryStore();
    const clock = new SimulatedClock();
    const portA = new FakeMinionPort(TENANT, [{ id: 'web1' }]);
    const first = service(store, portA, clock, 'node-a:1');
    const job = await first.createJob({ tenant: TENANT, fun: 'test.ping', tgt: '*', timeoutMs: 1000, principal: 'alice' });
    await waitFor(async () => (await jobState(store, job.jid)).state === 'complete', { what: 'complete' });
    await first.stop();

    const portB = new FakeMinionPort(TENANT, [{ id: 'web1' }]);
    const second = service(store, portB, clock, 'node-b:1');
    expect(await second.resume()).toEqual({ resumed: 0, expired: 0 });
    const command = portA.commandsFor(job.jid, 'runJob')[0]!.command as RunJobCommand;
    await portB.attach(second).reply('web1', command);
    expect(portB.errors).toEqual([]);
    expect(await readJobEvents(store, TENANT, job.jid)).toHaveLength(4);
    expect((await second.describeJob(TENANT, job.jid)).state).toBe('complete');
  });
});

describe('restart on the embedded store', () => {
  it('a job survives closing and reopening the store: returns after the restart complete it once each', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dataDir = mkdtempSync(join(tmpdir(), 'corral-jobs-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const clock = new SimulatedClock();
    const minions = [{ id: 'web1', answer: 'never' as const }, { id: 'web2', answer: 'never' as const }];

    const storeA = await openStore({ kind: 'embedded', dataDir });
    const portA = new FakeMinionPort(TENANT, minions);
    const first = createJobService({ store: storeA, minions: portA, clock, node: 'node-a:1' });
    portA.attach(first);
    const job = await first.createJob({ tenant: TENANT, fun: 'cmd.run', args: ['echo hi'], tgt: '*', timeoutMs: 30_000, principal: 'alice' });
    const command = portA.commandsFor(job.jid, 'runJob')[0]!.command as RunJobCommand;
    await portA.reply('web1', command, { return: { stdout: 'hi\n', stderr: '', retcode: 0 }, retcode: 0, success: true });
    await first.stop();
    await storeA.close();

    const storeB = await openStore({ kind: 'embedded', dataDir });
    cleanups.push(() => storeB.close());
    const portB = new FakeMinionPort(TENANT, minions);
    const second = service(storeB, portB, clock, 'node-b:1');
    expect(await second.resume()).toEqual({ resumed: 1, expired: 0 });
    await portB.reply('web1', command, { return: { stdout: 'hi\n', stderr: '', retcode: 0 }, retcode: 0, success: true });
    await portB.reply('web2', command, { return: { stdout: 'hi\n', stderr: '', retcode: 0 }, retcode: 0, success: true });
    const state = await jobState(storeB, job.jid);
    expect(state).toMatchObject({ state: 'complete', returns: 2 });
    expect(state.minions.web2).toEqual({ state: 'returned', success: true, retcode: 0, return: { stdout: 'hi\n', stderr: '', retcode: 0 } });
  });
});

describe('a return too large for the store', () => {
  it('is recorded as a marker (and acknowledged) instead of failing forever', async () => {
    const store = await openStore({ kind: 'memory', maxEventBytes: 8 * 1024 });
    cleanups.push(() => store.close());
    const clock = new SimulatedClock();
    const port = new FakeMinionPort(TENANT, [{ id: 'web1', answer: 'never' }, { id: 'web2', answer: 'never' }]);
    const jobs = service(store, port, clock, 'node-a:1');
    const job = await jobs.createJob({ tenant: TENANT, fun: 'cmd.run', args: ['cat big'], tgt: '*', timeoutMs: 30_000, principal: 'alice' });
    const command = port.commandsFor(job.jid, 'runJob')[0]!.command as RunJobCommand;
    await Promise.all([
      port.reply('web1', command, { return: 'x'.repeat(20_000), retcode: 0, success: true }),
      port.reply('web2', command, { return: 'small', retcode: 0, success: true }),
    ]);
    expect(port.errors).toEqual([]);
    const state = await jobState(store, job.jid);
    expect(state.state).toBe('complete');
    expect(state.minions.web1?.return).toEqual({ error: 'return too large to store', bytes: 20_002 });
    expect(state.minions.web2?.return).toBe('small');
  });
});
