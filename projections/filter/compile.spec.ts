import { describe, expect, it } from 'vitest';
import type { Change } from '../change.js';
import { compileFilter, compileSpecifier, resolveField } from './index.js';

let position = 0;
function change(partial: Partial<Change> & Pick<Change, 'type' | 'action' | 'key'>): Change {
  position++;
  return {
    position,
    time: 1_763_900_000_000 + position,
    id: `id-${position}`,
    stream: `${partial.type}-${partial.key}`,
    revision: 0,
    tenant: partial.key.split(':')[0],
    schema: 1,
    data: {},
    object: null,
    original: null,
    ...partial,
  };
}

const runningProcess = {
  key: 'acme:web:0',
  tenant: 'acme',
  watcher: 'acme:web',
  slot: 0,
  minion: 'acme:host1',
  state: 'running',
  pid: 4242,
  ready: true,
  startedAt: 1_763_900_000_000,
  exitedAt: null,
  exitCode: null,
  signal: null,
  restarts: 2,
  cpu: 12.5,
  rss: 52_428_800,
};
const exitedProcess = { ...runningProcess, state: 'exited', pid: null, ready: false, exitedAt: 1_763_900_100_000, exitCode: 1 };
const processExit = change({ type: 'processes', action: 'exit', key: 'acme:web:0', object: exitedProcess, original: runningProcess, data: { code: 1, signal: null } });
const processSpawn = change({ type: 'processes', action: 'spawn', key: 'acme:web:1', object: { ...runningProcess, key: 'acme:web:1', slot: 1 }, original: null });
const processStats = change({ type: 'processes', action: 'stats', key: 'acme:web:0', object: { ...runningProcess, cpu: 40 }, original: runningProcess });

const pendingJob = {
  key: 'acme:20261123153646699137',
  tenant: 'acme',
  jid: '20261123153646699137',
  fun: 'cmd.run',
  args: ['uname -a'],
  tgt: 'web*',
  tgtType: 'glob',
  state: 'running',
  user: 'alice',
  startTime: 1_763_900_000_000,
  endTime: null,
  minions: {
    host1: { state: 'pending', return: null, retcode: null, success: null, durationMs: null },
    'web/1': { state: 'pending', return: null, retcode: null, success: null, durationMs: null },
  },
};
const completeJob = {
  ...pendingJob,
  state: 'complete',
  endTime: 1_763_900_002_000,
  minions: {
    host1: { state: 'returned', return: 'Linux', retcode: 0, success: true, durationMs: 12 },
    'web/1': { state: 'returned', return: 'Linux', retcode: 0, success: true, durationMs: 15 },
  },
};
const jobComplete = change({ type: 'jobs', action: 'complete', key: pendingJob.key, object: completeJob, original: pendingJob });
const jobCreate = change({ type: 'jobs', action: 'create', key: 'acme:20261123153646699200', object: { ...pendingJob, minions: {}, state: 'pending' }, original: null });
const jobDispatch = change({
  type: 'jobs',
  action: 'dispatch',
  key: 'acme:20261123153646699200',
  data: { minions: ['host2'] },
  object: { ...pendingJob, minions: {} },
  original: { ...pendingJob, minions: {} },
});
const otherTenantJob = change({ type: 'jobs', action: 'complete', key: 'globex:20261123153646699137', tenant: 'globex', object: completeJob, original: pendingJob });

describe('field terms', () => {
  const on = (filter: string, c: Change = processExit) => compileFilter(filter)(c);

  it('Exists: a present value, JSON null included; prototype members never count', () => {
    expect(on('pid=Exists()')).toBe(true); // null after exit, but present
    expect(on('nothing=Exists()')).toBe(false);
    expect(on('constructor=Exists()')).toBe(false);
    expect(on('__proto__=Exists()')).toBe(false);
    expect(on('state.length=Exists()')).toBe(false);
  });

  it('Eq and Ne: deep JSON equality; Ne is Not(Eq), so a missing field is Ne anything', () => {
    expect(on('state=Eq("exited")')).toBe(true);
    expect(on('state=Eq("running")')).toBe(false);
    expect(on('exitCode=Eq(1)')).toBe(true);
    expect(on('pid=Eq(null)')).toBe(true);
    expect(on('missing=Eq(null)')).toBe(false);
    expect(on('ready=Ne(true)')).toBe(true);
    expect(on('missing=Ne(1)')).toBe(true);
    expect(on('args=Eq(["uname -a"])', jobComplete)).toBe(true);
    expect(on('args=Eq(["uname"])', jobComplete)).toBe(false);
    expect(on('minions.host1=Eq({"success":true,"retcode":0,"durationMs":12,"return":"Linux","state":"returned"})', jobComplete)).toBe(true);
    expect(on('minions.host1=Eq({"success":true})', jobComplete)).toBe(false);
  });

  it('Re: unanchored RE2 search on strings, JSON text of numbers and booleans, false otherwise', () => {
    expect(on('watcher=Re("^acme:")')).toBe(true);
    expect(on('watcher=Re("web")')).toBe(true);
    expect(on('watcher=Re("(?i)^ACME:WEB$")')).toBe(true);
    expect(on('watcher=Re("^web")')).toBe(false);
    expect(on('rss=Re("^524")')).toBe(true);
    expect(on('ready=Re("^false$")')).toBe(true);
    expect(on('pid=Re(".*")')).toBe(false); // null
    expect(on('missing=Re(".*")')).toBe(false);
    expect(on('minions=Re(".*")', jobComplete)).toBe(false); // object
  });

  it('Re stays linear on hostile patterns', () => {
    const hostile = change({ type: 'logs', action: 'line', key: 'acme:web:0', object: { key: 'acme:web:0', line: `${'a'.repeat(30_000)}!` } });
    const started = performance.now();
    expect(compileFilter('line=Re("(a+)+$")')(hostile)).toBe(false);
    expect(compileFilter('line=Re("^(a|aa)*$")')(hostile)).toBe(false);
    expect(compileFilter('line=Re("(.*a){20}")')(hostile)).toBe(true);
    // Backtracking engines take astronomically long here; the bound is generous on purpose.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('In and Nin over primitives and structures', () => {
    expect(on('state=In("running","exited")')).toBe(true);
    expect(on('state=In("running","fatal")')).toBe(false);
    expect(on('exitCode=In("1",1.0)')).toBe(true);
    expect(on('args=In(["uname -a"],"x")', jobComplete)).toBe(true);
    expect(on('state=Nin("running","fatal")')).toBe(true);
    expect(on('missing=Nin(1)')).toBe(true);
    expect(on('missing=In(null)')).toBe(false);
  });

  it('dot paths and pointers reach into maps and arrays; pointer escapes decode', () => {
    expect(on('minions.host1.retcode=Eq(0)', jobComplete)).toBe(true);
    expect(on('/minions/host1/retcode=Eq(0)', jobComplete)).toBe(true);
    expect(on('/minions/web~11/durationMs=Eq(15)', jobComplete)).toBe(true);
    expect(on('args.0=Eq("uname -a")', jobComplete)).toBe(true);
    expect(on('/args/0=Eq("uname -a")', jobComplete)).toBe(true);
    expect(on('args.00=Exists()', jobComplete)).toBe(false);
    expect(on('args.1=Exists()', jobComplete)).toBe(false);
    expect(resolveField({ 'a/b': { '~': [10, 20] } }, '/a~1b/~0/1')).toBe(20);
    expect(resolveField({ a: { '': 1 } }, '/a/')).toBe(1);
    expect(resolveField({ a: 1 }, 'a.b')).toBeUndefined();
    expect(resolveField(Object.create(null), 'constructor')).toBeUndefined();
    expect(resolveField({ hasOwnProperty: 1 }, 'hasOwnProperty')).toBe(1);
    expect(() => resolveField({}, 'a..b')).toThrow(/field name between dots/);
  });

  it('And / Or / Not combine and short-circuit left to right', () => {
    expect(on('And(state=Eq("exited"),exitCode=Ne(0))')).toBe(true);
    expect(on('And(state=Eq("exited"),exitCode=Eq(0))')).toBe(false);
    expect(on('Or(state=Eq("running"),exitCode=Eq(1))')).toBe(true);
    expect(on('Or(state=Eq("running"),exitCode=Eq(0),restarts=In(5))')).toBe(false);
    expect(on('Not(Or(state=Eq("running")))')).toBe(true);
    expect(on('And(a=Exists(),b=Exists(),state=Exists())')).toBe(false);
  });

  it('fields resolve against object only: a destroy (object null) has no fields', () => {
    const destroy = change({ type: 'watchers', action: 'destroy', key: 'acme:web', object: null, original: { key: 'acme:web', active: false } });
    expect(on('key=Exists()', destroy)).toBe(false);
    expect(on('key=Ne("x")', destroy)).toBe(true);
  });
});

describe('Changed(from,to), as Digital Rebar documents it', () => {
  const on = (filter: string, c: Change) => compileFilter(filter)(c);

  it('a process going running -> exited', () => {
    expect(on('state=Changed()', processExit)).toBe(true);
    expect(on('state=Changed("running")', processExit)).toBe(true);
    expect(on('state=Changed("running","exited")', processExit)).toBe(true);
    expect(on('state=Changed(,"exited")', processExit)).toBe(true);
    expect(on('state=Changed("stopped")', processExit)).toBe(false);
    expect(on('state=Changed(,"fatal")', processExit)).toBe(false);
    expect(on('state=Changed("running","fatal")', processExit)).toBe(false);
    // identical in both: false, whatever from/to say
    expect(on('watcher=Changed()', processExit)).toBe(false);
    expect(on('watcher=Changed("acme:web","acme:web")', processExit)).toBe(false);
    // missing in either: false
    expect(on('nothing=Changed()', processExit)).toBe(false);
    // null -> 1 is a change; null is a value that from can name
    expect(on('exitCode=Changed(null,1)', processExit)).toBe(true);
    expect(on('pid=Changed(4242,null)', processExit)).toBe(true);
  });

  it('a stats sample changes cpu but not state', () => {
    expect(on('state=Changed()', processStats)).toBe(false);
    expect(on('cpu=Changed()', processStats)).toBe(true);
    expect(on('cpu=Changed(12.5,40)', processStats)).toBe(true);
  });

  it('a job pending -> complete, reaching into per-minion returns', () => {
    expect(on('state=Changed("running","complete")', jobComplete)).toBe(true);
    expect(on('/minions/host1/state=Changed("pending","returned")', jobComplete)).toBe(true);
    expect(on('minions.host1.retcode=Changed(null,0)', jobComplete)).toBe(true);
    expect(on('minions=Changed()', jobComplete)).toBe(true); // structures compare deeply
    expect(on('args=Changed()', jobComplete)).toBe(false);
  });

  it('without an original/object pair: true iff to is unspecified or Eq(to) holds on object', () => {
    expect(on('state=Changed()', processSpawn)).toBe(true);
    expect(on('state=Changed("anything")', processSpawn)).toBe(true); // from is not consulted
    expect(on('state=Changed(,"running")', processSpawn)).toBe(true);
    expect(on('state=Changed("x","running")', processSpawn)).toBe(true);
    expect(on('state=Changed(,"exited")', processSpawn)).toBe(false);
    expect(on('missing=Changed()', processSpawn)).toBe(true);
    const destroy = change({ type: 'jobs', action: 'cancel', key: 'acme:1', object: null, original: pendingJob });
    expect(on('state=Changed()', destroy)).toBe(true);
    expect(on('state=Changed(,"cancelled")', destroy)).toBe(false);
  });
});

describe('specifiers', () => {
  const matches = (spec: string, c: Change) => compileSpecifier(spec)(c);

  it('type, action and key: * and comma lists', () => {
    expect(matches('*.*.*', processExit)).toBe(true);
    expect(matches('processes.*.*', processExit)).toBe(true);
    expect(matches('jobs.*.*', processExit)).toBe(false);
    expect(matches('jobs,processes.spawn,exit.*', processExit)).toBe(true);
    expect(matches('processes.spawn.*', processExit)).toBe(false);
    expect(matches('*.*.acme:web:0', processExit)).toBe(true);
    expect(matches('*.*.acme:web:1,acme:web:0', processExit)).toBe(true);
    expect(matches('*.*.acme:web', processExit)).toBe(false);
  });

  it('the filter applies after type, action and key', () => {
    expect(matches('processes.exit.*.exitCode=Ne(0)', processExit)).toBe(true);
    expect(matches('processes.exit.*.exitCode=Eq(0)', processExit)).toBe(false);
    expect(matches('processes.*.*.state=Changed("running","exited")', processStats)).toBe(false);
  });

  it('minion_jobs: jobs of the key tenant whose view or dispatch data targets the minion', () => {
    expect(matches('minion_jobs.*.acme:host1', jobComplete)).toBe(true);
    expect(matches('minion_jobs.complete.acme:host1', jobComplete)).toBe(true);
    expect(matches('minion_jobs.create.acme:host1', jobComplete)).toBe(false);
    expect(matches('minion_jobs.*.acme:web/1', jobComplete)).toBe(true);
    expect(matches('minion_jobs.*.acme:host9', jobComplete)).toBe(false);
    expect(matches('minion_jobs.*.globex:host1', jobComplete)).toBe(false);
    expect(matches('minion_jobs.*.globex:host1', otherTenantJob)).toBe(true);
    expect(matches('minion_jobs.*.host1', otherTenantJob)).toBe(true);
    expect(matches('minion_jobs.*.acme:host2', jobDispatch)).toBe(true); // from the dispatch data
    expect(matches('minion_jobs.*.acme:host2', jobCreate)).toBe(false);
    expect(matches('minion_jobs.*.*', jobCreate)).toBe(true);
    expect(matches('minion_jobs.*.acme:host1', processExit)).toBe(false); // not a job
    expect(matches('minion_jobs.*.acme:host1.state=Changed(,"complete")', jobComplete)).toBe(true);
  });

  it('watcher_processes: processes keyed <watcher>:<slot>', () => {
    expect(matches('watcher_processes.*.acme:web', processExit)).toBe(true);
    expect(matches('watcher_processes.*.acme:api,acme:web', processSpawn)).toBe(true);
    expect(matches('watcher_processes.*.acme:we', processExit)).toBe(false);
    expect(matches('watcher_processes.*.acme', processExit)).toBe(false);
    expect(matches('watcher_processes.*.acme:web:0', processExit)).toBe(false);
    expect(matches('watcher_processes.*.acme:web', jobComplete)).toBe(false);
    expect(matches('watcher_processes.spawn.acme:web', processExit)).toBe(false);
  });

  it('special and plain types mix in one list, each with its own key rule', () => {
    const spec = 'jobs,watcher_processes,minion_jobs.*.acme:web,acme:host1';
    expect(matches(spec, processExit)).toBe(true); // via watcher_processes acme:web
    expect(matches(spec, jobComplete)).toBe(true); // via minion_jobs acme:host1
    const watcherUpdate = change({ type: 'watchers', action: 'update', key: 'acme:web', object: {}, original: {} });
    expect(matches(spec, watcherUpdate)).toBe(false); // watchers not listed
    expect(matches('watchers,watcher_processes.*.acme:web', watcherUpdate)).toBe(true);
  });
});
