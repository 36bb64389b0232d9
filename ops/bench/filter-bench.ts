/**
 * Filter evaluation rate: how many changes per second the grouped, compiled filters of §5 get
 * through when 1, 10 or 100 distinct specifiers are live (each evaluated once per change, as
 * the gateway does it, with the type pre-index). `bench:projections` calls `runFilterBench`;
 * run directly (`node dist/ops/bench/filter-bench.js`) it prints a table.
 */
import { pathToFileURL } from 'node:url';
import { internSpecifier, MatcherGroups, type Change, type MatcherGroup } from '../../projections/index.js';

export interface FilterBenchOptions {
  /** measuring time per trial, after a warm-up of a fifth of it */
  durationMs?: number;
  /** trials per level; the best is reported */
  trials?: number;
  /** distinct specifiers per level */
  levels?: number[];
  /** size of the pre-generated change mix */
  changeCount?: number;
  /** subscribers per distinct specifier (they share one group; shows evaluation is per group) */
  subscribersPerFilter?: number;
  log?: (line: string) => void;
}

export interface FilterBenchResult {
  distinctFilters: number;
  /** changes run through every live group per second */
  changesPerSecond: number;
  /** changes/s × distinct filters: filter decisions served per second */
  evaluationsPerSecond: number;
  /** matchers actually run per second (the type pre-index skips the rest) */
  matchersRunPerSecond: number;
  /** average number of groups a change matched */
  matchesPerChange: number;
}

const TENANTS = ['acme', 'globex', 'initech', 'umbrella', 'hooli'];
const WATCHERS = ['web', 'api', 'worker', 'cron'];
const MINIONS = ['host1', 'host2', 'host3', 'web-1', 'web-2', 'db'];
const STATES = ['starting', 'running', 'stopping', 'exited', 'backoff', 'fatal'];

/** A deterministic pseudo-random sequence, so every run measures the same mix. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One object literal for every change, as a projection engine builds them: all changes share
 * one hidden class, so the measurement is not dominated by megamorphic property loads.
 */
function envelope(
  base: { position: number; time: number; id: string; revision: number; tenant: string; schema: number },
  rest: Pick<Change, 'stream' | 'type' | 'action' | 'key' | 'data' | 'object' | 'original'>,
): Change {
  return {
    position: base.position,
    time: base.time,
    id: base.id,
    stream: rest.stream,
    revision: base.revision,
    type: rest.type,
    action: rest.action,
    key: rest.key,
    tenant: base.tenant,
    schema: base.schema,
    data: rest.data,
    object: rest.object,
    original: rest.original,
  };
}

/** Process stats dominate, then log lines, process transitions, jobs, minions and watchers. */
export function generateChanges(count: number, seed = 42): Change[] {
  const rnd = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const changes: Change[] = [];
  for (let position = 1; position <= count; position++) {
    const tenant = pick(TENANTS);
    const watcher = `${tenant}:${pick(WATCHERS)}`;
    const processKey = `${watcher}:${Math.floor(rnd() * 4)}`;
    const base = { position, time: 1_763_900_000_000 + position, id: `e${position}`, revision: position, tenant, schema: 1 };
    const process = (state: string, cpu: number) => ({
      key: processKey, tenant, watcher, slot: Number(processKey.slice(-1)), minion: `${tenant}:${pick(MINIONS)}`,
      state, pid: 1000 + position, ready: state === 'running', startedAt: base.time - 5000, exitedAt: null,
      exitCode: state === 'exited' ? Math.floor(rnd() * 3) : null, signal: null, restarts: Math.floor(rnd() * 5), cpu, rss: Math.floor(rnd() * 5e8),
    });
    const r = rnd();
    if (r < 0.4) {
      const before = process('running', Math.round(rnd() * 1000) / 10);
      changes.push(envelope(base, { stream: `process-${processKey}`, type: 'processes', action: 'stats', key: processKey, data: {}, original: before, object: { ...before, cpu: Math.round(rnd() * 1000) / 10 } }));
    } else if (r < 0.5) {
      const from = pick(STATES);
      const to = pick(STATES);
      const action = to === 'running' ? 'ready' : to === 'exited' ? 'exit' : to === 'starting' ? 'spawn' : to === 'fatal' ? 'fatal' : 'backoff';
      changes.push(envelope(base, { stream: `process-${processKey}`, type: 'processes', action, key: processKey, data: {}, original: process(from, 0), object: process(to, 0) }));
    } else if (r < 0.7) {
      const level = pick(['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR']);
      const line = `${new Date(base.time).toISOString()} ${level} request ${position} handled in ${Math.floor(rnd() * 200)}ms`;
      changes.push(envelope(base, { stream: `log-${processKey}`, type: 'logs', action: 'line', key: processKey, data: { line }, original: null, object: { key: processKey, stream: 'stdout', line } }));
    } else if (r < 0.85) {
      const jobKey = `${tenant}:2026112315364${String(position).padStart(7, '0')}`;
      const targets = MINIONS.filter(() => rnd() < 0.4);
      const minions = (state: string) => Object.fromEntries(targets.map((m) => [m, { state, return: state === 'returned' ? true : null, retcode: state === 'returned' ? 0 : null, success: null, durationMs: null }]));
      const job = (state: string, minionState: string) => ({ key: jobKey, tenant, jid: jobKey.slice(tenant.length + 1), fun: pick(['test.ping', 'cmd.run', 'grains.items']), args: [], tgt: '*', tgtType: 'glob', state, user: 'alice', startTime: base.time, endTime: null, minions: minions(minionState) });
      const action = pick(['create', 'dispatch', 'return', 'complete']);
      const [before, after] = action === 'create' ? [null, job('pending', 'pending')] : action === 'complete' ? [job('running', 'returned'), job('complete', 'returned')] : [job('running', 'pending'), job('running', action === 'return' ? 'returned' : 'pending')];
      changes.push(envelope(base, { stream: `job-${jobKey}`, type: 'jobs', action, key: jobKey, data: action === 'dispatch' ? { minions: targets } : {}, original: before, object: after }));
    } else if (r < 0.95) {
      const minion = pick(MINIONS);
      const key = `${tenant}:${minion}`;
      const view = (state: string) => ({ key, tenant, id: minion, state, connectedAt: base.time, lastSeen: base.time, version: '0.1.0', grains: { os: pick(['linux', 'linux', 'darwin']), arch: pick(['x64', 'arm64']), cpus: 8 } });
      changes.push(envelope(base, { stream: `minion-${key}`, type: 'minions', action: pick(['connect', 'disconnect', 'grains']), key, data: {}, original: view('connected'), object: view(pick(['connected', 'disconnected'])) }));
    } else {
      const view = { key: watcher, tenant, name: watcher.split(':')[1], cmd: 'node', args: ['server.js'], numprocesses: 4, active: rnd() < 0.8, processes: [] };
      changes.push(envelope(base, { stream: `watcher-${watcher}`, type: 'watchers', action: pick(['update', 'start', 'stop', 'reload']), key: watcher, data: {}, original: { ...view, numprocesses: 2 }, object: view }));
    }
  }
  return changes;
}

/** Distinct, realistic specifiers: what a console, a CLI tail, a Salt UI and DRP clients subscribe to. */
export function generateSpecifiers(count: number): string[] {
  const templates: ((t: string, i: number) => string)[] = [
    (t) => `processes.*.*.tenant=Eq("${t}")`,
    (t, i) => `processes.exit,fatal.*.And(tenant=Eq("${t}"),exitCode=Ne(${i % 3}))`,
    (t, i) => `watcher_processes.*.${t}:${WATCHERS[i % WATCHERS.length]}`,
    (t) => `processes.*.*.And(tenant=Eq("${t}"),state=Changed("running","exited"))`,
    (t, i) => `processes.stats.*.And(tenant=Eq("${t}"),cpu=Re("^[${(i % 9) + 1}-9][0-9]\\\\."))`,
    (t, i) => `minion_jobs.*.${t}:${MINIONS[i % MINIONS.length]}`,
    (t) => `jobs.complete,return.*.And(tenant=Eq("${t}"),/minions/host1/state=Changed(,"returned"))`,
    (t, i) => `logs.line.*.And(/key=Re("^${t}:"),line=Re("${i % 2 ? 'ERROR|WARN' : '(?i)error'}"))`,
    (t) => `minions.*.*.And(tenant=Eq("${t}"),grains.os=In("linux","freebsd"))`,
    (t) => `jobs,minions.*.*.Or(state=Changed(,"complete"),state=Changed(,"disconnected"),tenant=Nin("${t}"))`,
    (t) => `*.*.*.tenant=Eq("${t}")`,
    (t) => `watchers.*.*.And(tenant=Eq("${t}"),numprocesses=Changed())`,
  ];
  // Templates cycle over tenants and a variant number; those that ignore the number repeat,
  // so duplicates (by canonical key) are skipped until `count` distinct ones exist.
  const specifiers = new Map<string, string>();
  for (let i = 0; specifiers.size < count; i++) {
    const round = Math.floor(i / templates.length);
    const text = templates[i % templates.length]!(TENANTS[round % TENANTS.length]!, Math.floor(round / TENANTS.length) + (i % 7));
    const key = internSpecifier(text).key;
    if (!specifiers.has(key)) specifiers.set(key, text);
  }
  return [...specifiers.values()];
}

export async function runFilterBench({
  durationMs = 1000,
  trials = 3,
  levels = [1, 10, 100],
  changeCount = 50_000,
  subscribersPerFilter = 10,
  log = (line: string) => console.log(line),
}: FilterBenchOptions = {}): Promise<FilterBenchResult[]> {
  const changes = generateChanges(changeCount);
  const results: FilterBenchResult[] = [];
  for (const distinctFilters of levels) {
    const groups = new MatcherGroups();
    for (const specifier of generateSpecifiers(distinctFilters)) for (let s = 0; s < subscribersPerFilter; s++) groups.add(specifier);
    if (groups.size !== distinctFilters) throw new Error(`expected ${distinctFilters} distinct groups, got ${groups.size}`);
    const out: MatcherGroup[] = [];
    const pass = (deadline: number) => {
      let evaluated = 0;
      let matched = 0;
      let matchersRun = 0;
      let i = 0;
      while (performance.now() < deadline) {
        // Check the clock every 1,000 changes: reading it per change would dominate.
        for (let n = 0; n < 1000; n++) {
          const change = changes[i]!;
          matchersRun += groups.candidateCount(change.type);
          matched += groups.evaluateInto(change, out);
          i = i + 1 === changes.length ? 0 : i + 1;
        }
        evaluated += 1000;
      }
      return { evaluated, matched, matchersRun };
    };
    log(`filter bench: ${distinctFilters} distinct filter(s), ${groups.size * subscribersPerFilter} subscribers, warming up`);
    pass(performance.now() + durationMs / 5);
    // Best of several trials: on a shared machine the slowest trials measure the neighbours.
    let result: FilterBenchResult | undefined;
    for (let trial = 0; trial < trials; trial++) {
      await new Promise((resolve) => setImmediate(resolve));
      const started = performance.now();
      const { evaluated, matched, matchersRun } = pass(started + durationMs);
      const seconds = (performance.now() - started) / 1000;
      const changesPerSecond = Math.round(evaluated / seconds);
      if (result !== undefined && result.changesPerSecond >= changesPerSecond) continue;
      result = {
        distinctFilters,
        changesPerSecond,
        evaluationsPerSecond: Math.round((evaluated * distinctFilters) / seconds),
        matchersRunPerSecond: Math.round(matchersRun / seconds),
        matchesPerChange: Math.round((matched / evaluated) * 100) / 100,
      };
    }
    if (result === undefined) throw new Error('filter bench: trials must be at least 1');
    log(`filter bench: ${distinctFilters} distinct filter(s): ${result.changesPerSecond.toLocaleString('en')} changes/s, ${result.evaluationsPerSecond.toLocaleString('en')} evaluations/s`);
    results.push(result);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return results;
}

export function formatFilterBenchTable(results: readonly FilterBenchResult[]): string {
  const header = ['distinct filters', 'changes/s', 'evaluations/s', 'matchers run/s', 'matches/change'];
  const rows = results.map((r) => [r.distinctFilters, r.changesPerSecond, r.evaluationsPerSecond, r.matchersRunPerSecond, r.matchesPerChange].map((v) => v.toLocaleString('en')));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await runFilterBench();
  console.log(`\n${formatFilterBenchTable(results)}`);
}
