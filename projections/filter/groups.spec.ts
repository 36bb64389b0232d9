import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Change } from '../change.js';
import { canonicalSpecifier, internSpecifier, isFilterSyntaxError, MatcherGroups, parseSpecifier, SpecifierCache, type MatcherGroup } from './index.js';

const change = (type: string, action: string, key: string, object: Record<string, unknown> | null): Change => ({
  position: 1,
  time: 0,
  id: 'x',
  stream: `${type}-${key}`,
  revision: 0,
  type,
  action,
  key,
  tenant: key.split(':')[0],
  schema: 1,
  data: {},
  object,
  original: null,
});

describe('canonical specifiers', () => {
  it('sorts and de-duplicates lists and normalises the filter text', () => {
    const spec = parseSpecifier('processes,jobs,jobs.exit,spawn.acme:b,acme:a.And( state = Eq( "x" ) , n=Eq(1.0e0))');
    expect(canonicalSpecifier(spec)).toMatchObject({ types: ['jobs', 'processes'], actions: ['exit', 'spawn'], keys: ['acme:a', 'acme:b'] });
    expect(internSpecifier('processes,jobs,jobs.exit,spawn.acme:b,acme:a.And( state = Eq( "x" ) , n=Eq(1.0e0))').key).toBe(
      'jobs,processes.exit,spawn.acme:a,acme:b.And(state=Eq("x"),n=Eq(1))',
    );
  });

  it('interns: equal canonical forms share one compiled matcher', () => {
    const a = internSpecifier('jobs,processes.*.*.state=Eq("running")');
    const b = internSpecifier('processes,jobs.*.*.state=Eq( "running" )');
    expect(b).toBe(a);
    expect(internSpecifier(parseSpecifier('processes,jobs.*.*.state=Eq("running")'))).toBe(a);
    expect(internSpecifier('processes.*.*.state=Eq("running")')).not.toBe(a);
  });

  it('the cache is bounded', () => {
    const cache = new SpecifierCache({ maxEntries: 10 });
    for (let i = 0; i < 100; i++) cache.intern(`processes.*.acme:web:${i}`);
    expect(cache.size).toBeLessThanOrEqual(10);
  });
});

describe('MatcherGroups', () => {
  it('evaluates each distinct specifier once per change, however many subscribers', () => {
    const groups = new MatcherGroups<{ subscribers: string[] }>({ createState: () => ({ subscribers: [] }) });
    const subscribe = (who: string, text: string) => {
      const group = groups.add(text);
      group.state.subscribers.push(who);
      return group;
    };
    const running = subscribe('s1', 'processes.*.*.state=Eq("running")');
    expect(subscribe('s2', 'processes.*.*.state=Eq( "running" )')).toBe(running);
    const all = subscribe('s3', '*.*.*');
    const jobs = subscribe('s4', 'minion_jobs.*.acme:host1');
    const logs = subscribe('s5', 'logs.line.*.line=Re("ERROR")');
    expect(groups.size).toBe(4);
    expect(running.refs).toBe(2);

    const processChange = change('processes', 'spawn', 'acme:web:0', { state: 'running' });
    expect(groups.evaluate(processChange).map((g) => g.key).sort()).toEqual([all.key, running.key].sort());
    expect(groups.candidateCount('processes')).toBe(2); // the jobs and logs groups are never run
    expect(groups.evaluate(change('jobs', 'create', 'acme:1', { minions: { host1: {} } })).map((g) => g.key).sort()).toEqual(
      [all.key, jobs.key].sort(),
    );
    expect(groups.evaluate(change('logs', 'line', 'acme:web:0', { line: 'an ERROR here' })).map((g) => g.key).sort()).toEqual(
      [all.key, logs.key].sort(),
    );

    // each matcher runs once per change
    let calls = 0;
    const counting = groups.add('tenants.*.*');
    const original = counting.compiled.matches;
    Object.defineProperty(counting, 'compiled', { value: { ...counting.compiled, matches: (c: Change) => (calls++, original(c)) } });
    for (let i = 0; i < 50; i++) groups.add('tenants.*.*');
    groups.evaluate(change('tenants', 'create', 'acme', {}));
    expect(calls).toBe(1);
  });

  it('release drops a group with its last reference', () => {
    const groups = new MatcherGroups();
    const a1 = groups.add('processes.*.*');
    const a2 = groups.add('processes.*.*');
    const star = groups.add('*.*.*');
    const c = change('processes', 'exit', 'acme:web:0', {});
    expect(groups.evaluate(c)).toHaveLength(2);
    expect(groups.release(a1)).toBe(false);
    expect(groups.evaluate(c)).toHaveLength(2);
    expect(groups.release(a2)).toBe(true);
    expect(groups.release(a2)).toBe(false); // already gone
    expect(groups.evaluate(c)).toEqual([star]);
    expect(groups.release(star)).toBe(true);
    expect(groups.evaluate(c)).toEqual([]);
    expect(groups.size).toBe(0);
    expect(groups.candidateCount('processes')).toBe(0);
  });

  it('evaluateInto writes matches to the front of a reused array and returns their count', () => {
    const groups = new MatcherGroups();
    const processes = groups.add('processes.*.*');
    const star = groups.add('*.*.*');
    const out: MatcherGroup[] = [];
    expect(groups.evaluateInto(change('processes', 'exit', 'acme:web:0', {}), out)).toBe(2);
    expect(new Set(out.slice(0, 2))).toEqual(new Set([processes, star]));
    expect(groups.evaluateInto(change('jobs', 'create', 'acme:1', {}), out)).toBe(1);
    expect(out[0]).toBe(star);
    expect(groups.evaluateInto(change('jobs', 'create', 'acme:1', {}), [])).toBe(1);
  });

  it('rejects bad specifiers with FilterSyntaxError and changes nothing', () => {
    const groups = new MatcherGroups();
    let caught: unknown;
    try {
      groups.add('processes.*.*.state=Re("(")');
    } catch (error) {
      caught = error;
    }
    expect(isFilterSyntaxError(caught)).toBe(true);
    expect(groups.size).toBe(0);
  });
});

describe('the type pre-index', () => {
  it('never drops a match: evaluate returns exactly the groups whose matcher accepts the change', () => {
    const types = ['*', 'processes', 'jobs', 'logs', 'minion_jobs', 'watcher_processes', 'minions'];
    const typeList = fc.oneof(fc.constant('*'), fc.uniqueArray(fc.constantFrom(...types.slice(1)), { minLength: 1, maxLength: 3 }).map((t) => t.join(',')));
    const keyList = fc.constantFrom('*', 'acme:web', 'acme:host1', 'acme:web:0', 'acme:web,acme:host1');
    const spec = fc.tuple(typeList, fc.constantFrom('*', 'exit', 'create,exit'), keyList).map(([t, a, k]) => `${t}.${a}.${k}`);
    const someChange = fc
      .tuple(fc.constantFrom('processes', 'jobs', 'logs', 'minions', 'tenants'), fc.constantFrom('exit', 'create', 'line'), fc.constantFrom('acme:web:0', 'acme:1', 'acme:host1'))
      .map(([type, action, key]) => change(type, action, key, { minions: { host1: {} } }));
    fc.assert(
      fc.property(fc.array(spec, { minLength: 1, maxLength: 12 }), fc.array(someChange, { minLength: 1, maxLength: 5 }), (specs, changes) => {
        const groups = new MatcherGroups({ cache: new SpecifierCache() });
        for (const s of specs) groups.add(s);
        for (const c of changes) {
          const expected = [...groups.groups()].filter((g) => g.compiled.matches(c)).map((g) => g.key).sort();
          expect(groups.evaluate(c).map((g) => g.key).sort()).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
});
