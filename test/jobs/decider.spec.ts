import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createJobStepper, decideJob, jobMachine, type JobCommand } from '../../actors/index.js';
import type { JobEvent } from '../../actors/index.js';

const stepper = createJobStepper(jobMachine);
const DISPATCHED = ['m1', 'm2', 'm3'];

const commandArbitrary: fc.Arbitrary<JobCommand> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ minion: fc.constantFrom('m1', 'm2', 'm3', 'stranger'), success: fc.boolean() }).map(({ minion, success }) => ({ kind: 'return' as const, minion, return: success, retcode: success ? 0 : 1, success, durationMs: 1 })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'cancel' as const, by: 'alice' }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 2000 }).map((now) => ({ kind: 'expire' as const, now })) },
);

describe('the job decider (laws over any command sequence)', () => {
  it('records each minion once, ends exactly once, records nothing after the end, and ends in the state the returns imply', () => {
    fc.assert(
      fc.property(fc.array(commandArbitrary, { maxLength: 25 }), (commands) => {
        let snapshot = stepper.initial('acme', '20260101000000000001');
        const log: JobEvent[] = [];
        const apply = (command: JobCommand): void => {
          for (const event of decideJob(snapshot, command).events) {
            [snapshot] = stepper.step(snapshot, event);
            log.push(event);
          }
        };
        apply({ kind: 'create', created: { jid: '20260101000000000001', fun: 'test.ping', args: [], tgt: '*', tgtType: 'glob', timeoutMs: 1000, user: 'alice', timeoutAt: 1000 }, minions: DISPATCHED });
        for (const command of commands) apply(command);

        const returns = log.filter((event) => event.action === 'return').map((event) => (event.data as { minion: string }).minion);
        expect(new Set(returns).size).toBe(returns.length);
        expect(returns.every((minion) => DISPATCHED.includes(minion))).toBe(true);
        const endings = log.map((event, index) => [event.action, index] as const).filter(([action]) => action === 'complete' || action === 'timeout' || action === 'cancel');
        expect(endings.length).toBeLessThanOrEqual(1);
        if (endings.length === 1) expect(endings[0]![1]).toBe(log.length - 1);
        const ending = log.at(-1)!;
        if (ending.action === 'complete') {
          expect(returns.length).toBe(DISPATCHED.length);
          const anyFailed = log.some((event) => event.action === 'return' && !(event.data as { success: boolean }).success);
          expect(ending.data).toEqual({ state: anyFailed ? 'failed' : 'complete' });
          expect(snapshot.value).toBe(anyFailed ? 'failed' : 'complete');
        } else if (ending.action === 'timeout') {
          expect(ending.data.minions).toEqual(DISPATCHED.filter((minion) => !returns.includes(minion)));
          expect(snapshot.value).toBe('timeout');
        } else if (ending.action === 'cancel') {
          expect(snapshot.value).toBe('cancelled');
        } else {
          expect(snapshot.value).toBe('running');
          expect(returns.length).toBeLessThan(DISPATCHED.length);
        }
        // replaying the log from scratch gives the same state (rehydration is deterministic)
        let replayed = stepper.initial('acme', '20260101000000000001');
        for (const event of log) [replayed] = stepper.step(replayed, event);
        expect(replayed.value).toEqual(snapshot.value);
        expect(replayed.context).toEqual(snapshot.context);
      }),
      { numRuns: 1000 },
    );
  });

  it('an expiry before the recorded timeoutAt records nothing', () => {
    let snapshot = stepper.initial('acme', '20260101000000000002');
    for (const event of decideJob(snapshot, { kind: 'create', created: { jid: '20260101000000000002', fun: 'test.ping', args: [], tgt: '*', tgtType: 'glob', timeoutMs: 1000, user: 'a', timeoutAt: 1000 }, minions: ['m1'] }).events) {
      [snapshot] = stepper.step(snapshot, event);
    }
    expect(decideJob(snapshot, { kind: 'expire', now: 999 })).toEqual({ events: [], ignored: 'not-due' });
    expect(decideJob(snapshot, { kind: 'expire', now: 1000 }).events).toEqual([{ action: 'timeout', data: { minions: ['m1'] } }]);
  });
});
