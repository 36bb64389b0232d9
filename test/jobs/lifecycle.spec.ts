import { afterEach, describe, expect, it } from 'vitest';
import { createJobService, SimulatedClock, type JobService, type RunJobCommand } from '../../actors/index.js';
import { openStore, type EventStore } from '../../store/index.js';
import { FakeMinionPort, foldJob, readJobEvents, waitFor, type FakeMinionSpec } from './support.js';

const TENANT = 'acme';

interface Harness {
  store: EventStore;
  port: FakeMinionPort;
  clock: SimulatedClock;
  service: JobService;
}

const open: Harness[] = [];

async function harness(specs: FakeMinionSpec[]): Promise<Harness> {
  const store = await openStore({ kind: 'memory' });
  const port = new FakeMinionPort(TENANT, specs);
  const clock = new SimulatedClock();
  const service = createJobService({ store, minions: port, clock, node: 'test:1' });
  port.attach(service);
  const h = { store, port, clock, service };
  open.push(h);
  return h;
}

afterEach(async () => {
  for (const h of open.splice(0)) {
    await h.service.stop();
    await h.store.close();
  }
});

const run = (h: Harness, overrides: Partial<Parameters<JobService['createJob']>[0]> = {}) =>
  h.service.createJob({ tenant: TENANT, fun: 'test.ping', args: [], tgt: '*', tgtType: 'glob', timeoutMs: 5000, principal: 'alice', ...overrides });

const jobState = async (h: Harness, jid: string) => foldJob(await readJobEvents(h.store, TENANT, jid));

describe('job lifecycle', () => {
  it('all minions return -> complete, with one return each', async () => {
    const h = await harness([{ id: 'web1' }, { id: 'web2' }, { id: 'db1' }]);
    const job = await run(h);
    expect(job.minions).toEqual(['web1', 'web2', 'db1']);
    expect(job.key).toBe(`${TENANT}:${job.jid}`);
    await waitFor(async () => (await jobState(h, job.jid)).state === 'complete', { what: 'job complete' });
    const events = await readJobEvents(h.store, TENANT, job.jid);
    expect(events.map((event) => event.action)).toEqual(['create', 'dispatch', 'return', 'return', 'return', 'complete']);
    expect(events.every((event) => event.type === 'jobs' && event.key === job.key && event.tenant === TENANT)).toBe(true);
    expect(events[0]!.meta.principal).toBe('alice');
    expect(events[0]!.data).toMatchObject({ jid: job.jid, fun: 'test.ping', tgt: '*', tgtType: 'glob', timeoutMs: 5000, user: 'alice', timeoutAt: h.clock.now() + 5000 });
    expect(job.positions).toEqual([events[0]!.position, events[1]!.position]);
    expect((await jobState(h, job.jid)).minions).toEqual({
      web1: { state: 'returned', success: true, retcode: 0, return: true },
      web2: { state: 'returned', success: true, retcode: 0, return: true },
      db1: { state: 'returned', success: true, retcode: 0, return: true },
    });
    expect(h.port.commandsFor(job.jid, 'runJob').map((entry) => entry.minion)).toEqual(['web1', 'web2', 'db1']);
    expect(h.service.runningJobs).toBe(0);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('one success:false -> failed', async () => {
    const failing = (command: RunJobCommand) => ({ return: `cannot run ${command.fun}`, retcode: 1, success: false });
    const h = await harness([{ id: 'web1' }, { id: 'web2', result: failing }]);
    const job = await run(h, { fun: 'cmd.run', args: ['false'] });
    await waitFor(async () => (await jobState(h, job.jid)).state === 'failed', { what: 'job failed' });
    const state = await jobState(h, job.jid);
    expect(state.minions.web2).toEqual({ state: 'returned', success: false, retcode: 1, return: 'cannot run cmd.run' });
    expect(state.minions.web1?.success).toBe(true);
  });

  it('a target that matches nothing completes at once with no minions', async () => {
    const h = await harness([{ id: 'web1' }]);
    const job = await run(h, { tgt: 'db*' });
    expect(job.state).toBe('complete');
    expect(job.minions).toEqual([]);
    const events = await readJobEvents(h.store, TENANT, job.jid);
    expect(events.map((event) => [event.action, event.data])).toEqual([
      ['create', expect.objectContaining({ tgt: 'db*' })],
      ['dispatch', { minions: [] }],
      ['complete', { state: 'complete' }],
    ]);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('a grain target picks exactly the matching minions', async () => {
    const h = await harness([{ id: 'web1', grains: { role: 'web' } }, { id: 'web2', grains: { role: 'web' } }, { id: 'db1', grains: { role: 'db' } }]);
    const job = await run(h, { tgt: 'role:web', tgtType: 'grain' });
    expect(job.minions).toEqual(['web1', 'web2']);
    await waitFor(async () => (await jobState(h, job.jid)).state === 'complete', { what: 'job complete' });
    expect(Object.keys((await jobState(h, job.jid)).minions)).toEqual(['web1', 'web2']);
  });

  it('timeout marks the minions that did not answer as timeout', async () => {
    const h = await harness([{ id: 'web1' }, { id: 'slow', answer: 'never' }, { id: 'gone', answer: 'never' }]);
    const job = await run(h, { timeoutMs: 1000 });
    await waitFor(async () => (await jobState(h, job.jid)).returns === 1, { what: 'the fast return' });
    h.clock.advance(999);
    await h.port.settle();
    expect((await jobState(h, job.jid)).state).toBe('running');
    h.clock.advance(1);
    await waitFor(async () => (await jobState(h, job.jid)).state === 'timeout', { what: 'job timeout' });
    const state = await jobState(h, job.jid);
    expect(state.minions).toEqual({
      web1: { state: 'returned', success: true, retcode: 0, return: true },
      slow: { state: 'timeout' },
      gone: { state: 'timeout' },
    });
    const events = await readJobEvents(h.store, TENANT, job.jid);
    expect(events.at(-1)).toMatchObject({ action: 'timeout', data: { minions: ['slow', 'gone'] }, meta: { principal: 'system' } });
    // a return after the end is ignored, and acknowledged (resolves) so the minion stops resending
    const command = h.port.commandsFor(job.jid, 'runJob').find((entry) => entry.minion === 'slow')!.command as RunJobCommand;
    await h.port.reply('slow', command);
    expect(await readJobEvents(h.store, TENANT, job.jid)).toHaveLength(events.length);
    expect(h.port.errors).toEqual([]);
  });

  it('cancel tells the minions that have not returned to stop and ends cancelled', async () => {
    const h = await harness([{ id: 'web1' }, { id: 'sleepy1', answer: 'never' }, { id: 'sleepy2', answer: 'never' }]);
    const job = await run(h, { fun: 'test.sleep', args: [5] });
    await waitFor(async () => (await jobState(h, job.jid)).returns === 1, { what: 'the fast return' });
    const cancelled = await h.service.cancelJob(TENANT, job.jid, 'bob');
    expect(cancelled).toMatchObject({ jid: job.jid, state: 'cancelled', cancelled: true });
    expect(cancelled.positions).toHaveLength(1);
    expect(h.port.commandsFor(job.jid, 'cancelJob').map((entry) => entry.minion)).toEqual(['sleepy1', 'sleepy2']);
    const events = await readJobEvents(h.store, TENANT, job.jid);
    expect(events.at(-1)).toMatchObject({ action: 'cancel', data: { by: 'bob', minions: ['sleepy1', 'sleepy2'] }, meta: { principal: 'bob' } });
    expect(h.clock.pendingTimers).toBe(0);
    // late returns and a second cancel record nothing
    const command = h.port.commandsFor(job.jid, 'runJob').find((entry) => entry.minion === 'sleepy1')!.command as RunJobCommand;
    await h.port.reply('sleepy1', command);
    expect(await h.service.cancelJob(TENANT, job.jid, 'bob')).toMatchObject({ state: 'cancelled', cancelled: false, positions: [] });
    expect(await readJobEvents(h.store, TENANT, job.jid)).toHaveLength(events.length);
  });

  it('duplicate returns are recorded once; returns from minions not dispatched are ignored', async () => {
    const h = await harness([{ id: 'web1', answer: 'never' }, { id: 'web2', answer: 'never' }, { id: 'db1', answer: 'never' }]);
    const job = await run(h, { tgt: 'web*' });
    const command = h.port.commandsFor(job.jid, 'runJob')[0]!.command as RunJobCommand;
    // resends after a reconnect may arrive together or later
    await Promise.all([h.port.reply('web1', command), h.port.reply('web1', command), h.port.reply('web1', command)]);
    await h.port.reply('web1', command);
    await h.port.reply('db1', command);
    let state = await jobState(h, job.jid);
    expect(state.returns).toBe(1);
    expect(Object.keys(state.minions)).toEqual(['web1', 'web2']);
    await Promise.all([h.port.reply('web2', command), h.port.reply('web2', command)]);
    state = await jobState(h, job.jid);
    expect(state).toMatchObject({ state: 'complete', returns: 2 });
    expect(h.port.errors).toEqual([]);
  });

  it('a minion that disconnects mid-job reports when it reconnects (its agent resends)', async () => {
    const h = await harness([{ id: 'web1' }, { id: 'roamer', answer: 'never' }]);
    const job = await run(h, { timeoutMs: 10_000 });
    h.port.disconnect('roamer');
    h.clock.advance(5000);
    await waitFor(async () => (await jobState(h, job.jid)).returns === 1, { what: 'web1 return' });
    expect((await jobState(h, job.jid)).state).toBe('running');
    h.port.reconnect('roamer');
    const command = h.port.commandsFor(job.jid, 'runJob').find((entry) => entry.minion === 'roamer')!.command as RunJobCommand;
    await h.port.reply('roamer', command);
    expect((await jobState(h, job.jid)).state).toBe('complete');
  });

  it('describeJob tells the state the service holds', async () => {
    const h = await harness([{ id: 'web1' }, { id: 'web2', answer: 'never' }]);
    const job = await run(h);
    await waitFor(async () => (await h.service.describeJob(TENANT, job.jid)).returned.length === 1, { what: 'one return' });
    expect(await h.service.describeJob(TENANT, job.jid)).toMatchObject({
      state: 'running',
      minions: ['web1', 'web2'],
      returned: ['web1'],
      fun: 'test.ping',
      user: 'alice',
    });
  });
});
