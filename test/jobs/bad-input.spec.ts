import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobService, SimulatedClock, type JobService } from '../../actors/index.js';
import { isCorralError, openStore, type EventStore } from '../../store/index.js';
import { FakeMinionPort } from './support.js';

const TENANT = 'acme';
let store: EventStore;
let service: JobService;
let port: FakeMinionPort;

beforeEach(async () => {
  store = await openStore({ kind: 'memory' });
  port = new FakeMinionPort(TENANT, [{ id: 'web1' }]);
  service = createJobService({ store, minions: port, clock: new SimulatedClock(), node: 'test:1', maxConcurrentJobs: 2 });
  port.attach(service);
});
afterEach(async () => {
  await service.stop();
  await store.close();
});

const valid = { tenant: TENANT, fun: 'test.ping', args: [] as unknown[], tgt: '*', tgtType: 'glob' as const, timeoutMs: 1000, principal: 'alice' };

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (!isCorralError(error)) throw error;
    return { code: error.code, message: error.message };
  }
  throw new Error('expected a rejection');
}

describe('bad job requests get clear errors and append nothing', () => {
  it.each([
    [{ tgt: '' }, 'bad-request', /empty glob target/],
    [{ tgt: 'web[' }, 'bad-request', /malformed glob target "web\[": unclosed '\['/],
    [{ tgt: 'web1,,x', tgtType: 'list' }, 'bad-request', /entry 2 is empty/],
    [{ tgt: 'linux', tgtType: 'grain' }, 'bad-request', /expected key:value/],
    [{ tgtType: 'compound' }, 'bad-request', /unknown target type "compound"/],
    [{ fun: 'ping' }, 'bad-request', /invalid function name "ping": expected module.function/],
    [{ fun: 'test.ping; rm -rf /' }, 'bad-request', /invalid function name/],
    [{ args: 'not-an-array' }, 'bad-request', /args must be an array/],
    [{ args: [1, { when: new Date(0) }] }, 'bad-request', /args\[1\]\.when is a Date object/],
    [{ args: [Number.NaN] }, 'bad-request', /args\[0\] is NaN/],
    [{ args: [undefined] }, 'bad-request', /args\[0\] is undefined/],
    [{ args: ['x'.repeat(1024 * 1024)] }, 'too-large', /job args are 1048580 bytes encoded, over the limit of 1048576 bytes/],
    [{ timeoutMs: 0 }, 'bad-request', /invalid timeoutMs 0/],
    [{ timeoutMs: 1.5 }, 'bad-request', /invalid timeoutMs 1.5/],
    [{ timeoutMs: 90_000_000 }, 'bad-request', /24 hours/],
    [{ tenant: 'Acme' }, 'bad-request', /invalid tenant name "Acme"/],
    [{ principal: '' }, 'bad-request', /invalid principal/],
  ])('%j', async (override, code, message) => {
    const error = await rejection(service.createJob({ ...valid, ...override } as typeof valid));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(await store.headPosition()).toBe(0);
    expect(port.sent).toEqual([]);
  });

  // what the minion would refuse in its runJob frame (actors/minion/limits.ts)
  it.each([
    ['10,001 args', Array.from({ length: 10_001 }, () => 1), /^job has 10001 args: a minion takes at most 10000$/],
    ['a string within the body limit, over the frame budget', ['x'.repeat(1024 * 1024 - 10 * 1024)], /over what the minion frame limit of 1048576 bytes leaves for them/],
    ['120,000 numbers (9 bytes each in a frame)', [Array.from({ length: 120_000 }, () => 0.5)], /more than 1032192 bytes in a minion frame/],
  ])('%s: bad-request naming the limit', async (_label, args, message) => {
    const error = await rejection(service.createJob({ ...valid, args } as typeof valid));
    expect(error.code).toBe('bad-request');
    expect(error.message).toMatch(message);
    expect(await store.headPosition()).toBe(0);
    expect(port.sent).toEqual([]);
  });

  it('a cyclic args value is an error, not a crash', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(await rejection(service.createJob({ ...valid, args: [cyclic] }))).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/deeper than 64 levels \(or is cyclic\)/) });
    expect(await store.headPosition()).toBe(0);
  });

  it('unknown jids are not-found; malformed jids are bad-request', async () => {
    expect(await rejection(service.cancelJob(TENANT, '20260101000000000001', 'alice'))).toEqual({
      code: 'not-found',
      message: 'job 20260101000000000001 not found in tenant acme',
    });
    expect(await rejection(service.describeJob(TENANT, '20260101000000000001'))).toMatchObject({ code: 'not-found' });
    expect(await rejection(service.cancelJob(TENANT, '2026', 'alice'))).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/invalid job id "2026"/) });
    expect(await store.headPosition()).toBe(0);
  });

  it('a return for an unknown job is acknowledged and ignored; a malformed report is rejected', async () => {
    await service.handleReturn('web1', { kind: 'jobReturn', tenant: TENANT, jid: '20260101000000000001', minion: 'web1', return: true, retcode: 0, success: true, durationMs: 1 });
    expect(
      await rejection(service.handleReturn('web1', { kind: 'jobReturn', tenant: TENANT, jid: 'x', minion: 'web1', return: true, retcode: 0, success: true, durationMs: 1 })),
    ).toMatchObject({ code: 'bad-request' });
    expect(
      await rejection(
        service.handleReturn('web1', { kind: 'jobReturn', tenant: TENANT, jid: '20260101000000000001', minion: 'web1', return: true, retcode: 0.5, success: true, durationMs: 1 }),
      ),
    ).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/retcode must be an integer/) });
    expect(await store.headPosition()).toBe(0);
  });

  it('too many unfinished jobs is unavailable, and a stopped service refuses work', async () => {
    const slowPort = new FakeMinionPort(TENANT, [{ id: 'web1', answer: 'never' }]);
    const limited = createJobService({ store, minions: slowPort, clock: new SimulatedClock(), node: 'test:2', maxConcurrentJobs: 2 });
    await limited.createJob(valid);
    await limited.createJob(valid);
    expect(await rejection(limited.createJob(valid))).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/too many unfinished jobs \(2, the limit is 2\)/) });
    await limited.stop();
    expect(await rejection(limited.createJob(valid))).toMatchObject({ code: 'unavailable' });
  });
});
