import fc from 'fast-check';
import { initialTransition, transition, type AnyStateMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { evolveTenant, initialTenantState } from '../tenant/evolve.js';
import { tenantMachine } from '../tenant/machine.js';
import { evolveWatcher, initialWatcherState } from '../watcher/evolve.js';
import { watcherMachine } from '../watcher/machine.js';
import { WATCHER_SPEC_DEFAULTS } from '../watcher/spec.js';
import { evolveProcess, initialProcessState } from './evolve.js';
import { processMachine, type ProcessDomainEvent } from './machine.js';

// Law: folding any sequence of events with the plain reducer gives exactly the machine's state
// (value and context). Rehydration relies on it: history is folded with `evolve`, live
// events go through the machine.

// one run id dominates so sequences reach deep states (exited -> backoff -> stop, stopping -> exit, ...)
const runId = fc.constantFrom('r1', 'r1', 'r1', 'r1', 'r2', 'r3');
const maybeRunId = fc.option(runId, { nil: undefined, freq: 4 });
const time = fc.integer({ min: 0, max: 1_000_000 });

const processEvent: fc.Arbitrary<ProcessDomainEvent> = fc.oneof(
  fc.record({
    type: fc.constant('start' as const),
    data: fc.record({ watcher: fc.constant('web'), slot: fc.constant(0), minion: fc.constantFrom('m1', 'm2'), runId, replaces: maybeRunId, reloadId: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }) }, { requiredKeys: ['watcher', 'slot', 'minion', 'runId'] }),
    time,
  }),
  fc.record({ type: fc.constant('spawn' as const), data: fc.record({ pid: fc.nat(100), minion: fc.constant('m1'), runId, startedAt: time }), time }),
  fc.record({ type: fc.constant('ready' as const), data: fc.record({ pid: fc.nat(100), runId }), time }),
  fc.record({ type: fc.constant('handover' as const), data: fc.record({ runId, pid: fc.nat(100), startedAt: time, replacedRunId: runId }), time }),
  fc.record({
    type: fc.constant('kill' as const),
    data: fc.record({ pid: fc.nat(100), signal: fc.constantFrom('SIGTERM', 'SIGKILL'), stop: fc.boolean(), killAt: fc.option(time, { nil: null }), runId: maybeRunId }, { requiredKeys: ['pid', 'signal', 'stop', 'killAt'] }),
    time,
  }),
  fc.record({
    type: fc.constant('exit' as const),
    data: fc.record({ pid: fc.nat(100), runId, code: fc.option(fc.nat(3), { nil: null }), signal: fc.constant(null), exitedAt: time, durationMs: fc.constant(null), usage: fc.constant(null) }),
    time,
  }),
  fc.record({ type: fc.constant('backoff' as const), data: fc.record({ retries: fc.nat(5), delayMs: fc.nat(1000), restartAt: time }), time }),
  fc.record({ type: fc.constant('fatal' as const), data: fc.record({ reason: fc.constant('x'), retries: fc.nat(5) }), time }),
  fc.record({ type: fc.constant('stop' as const), data: fc.record({ reason: fc.constant('x') }), time }),
  fc.record({ type: fc.constant('stats' as const), data: fc.record({ pid: fc.nat(100), cpu: fc.nat(100), rss: fc.nat(1000) }), time }),
) as fc.Arbitrary<ProcessDomainEvent>;

function viaMachine(machine: AnyStateMachine, input: unknown, events: readonly unknown[]) {
  let [snapshot] = initialTransition(machine, input);
  for (const event of events) [snapshot] = transition(machine, snapshot, event as never);
  return { value: snapshot.value, context: snapshot.context };
}

describe('evolve equals the machine', () => {
  it('process', () => {
    const input = { key: 'acme:web:0', tenant: 'acme', watcher: 'web', slot: 0 };
    fc.assert(
      fc.property(fc.array(processEvent, { maxLength: 60 }), (events) => {
        const folded = events.reduce(evolveProcess, initialProcessState(input));
        expect(folded).toEqual(viaMachine(processMachine, input, events));
      }),
      { numRuns: 3000 },
    );
  });

  it('watcher', () => {
    const spec = (numprocesses: number, active: boolean) => ({ ...WATCHER_SPEC_DEFAULTS, cmd: 'sleep', numprocesses, active });
    const watcherEvent = fc.oneof(
      fc.record({ type: fc.constant('create'), data: fc.record({ name: fc.constant('web'), spec: fc.tuple(fc.nat(5), fc.boolean()).map(([n, a]) => spec(n, a)) }), time }),
      fc.record({
        type: fc.constant('update'),
        data: fc.tuple(fc.nat(5), fc.boolean(), fc.boolean()).map(([n, a, activeChanged]) => ({ spec: spec(n, a), changed: activeChanged ? ['active', 'numprocesses'] : ['numprocesses'] })),
        time,
      }),
      fc.record({ type: fc.constantFrom('start', 'stop', 'destroy'), data: fc.constant({}), time }),
      fc.record({ type: fc.constant('reload'), data: fc.record({ reloadId: fc.constantFrom('a', 'b') }), time }),
    );
    const input = { tenant: 'acme', name: 'web', key: 'acme:web' };
    fc.assert(
      fc.property(fc.array(watcherEvent, { maxLength: 30 }), (events) => {
        // an update of a watcher that does not exist is never decided; the machine and reducer need not agree on it
        const valid = events.filter((_, i) => events.slice(0, i + 1).some((e) => e.type === 'create'));
        const folded = valid.reduce((state, event) => evolveWatcher(state, event as never), initialWatcherState(input));
        expect(folded).toEqual(viaMachine(watcherMachine, input, valid));
      }),
      { numRuns: 1000 },
    );
  });

  it('tenant', () => {
    const tenantEvent = fc.oneof(
      fc.record({ type: fc.constant('create'), data: fc.record({ name: fc.constant('acme'), configVersion: fc.nat(9) }), time }),
      fc.record({ type: fc.constant('reconfigure'), data: fc.record({ configVersion: fc.nat(9), added: fc.constant([]), updated: fc.constant([]), removed: fc.constant([]) }), time }),
      fc.record({ type: fc.constant('destroy'), data: fc.constant({}), time }),
      fc.record({ type: fc.constant('config-applied'), data: fc.record({ digest: fc.constantFrom('a', 'b') }), time }),
    );
    fc.assert(
      fc.property(fc.array(tenantEvent, { maxLength: 20 }), (events) => {
        const folded = events.reduce((state, event) => evolveTenant(state, event as never), initialTenantState({ name: 'acme' }));
        expect(folded).toEqual(viaMachine(tenantMachine, { name: 'acme' }, events));
      }),
    );
  });
});
