import type { EventToAppend } from '../../store/index.js';
import type { WatcherSpec } from '../../actors/watcher/events.js';

/** One append: events of one stream. */
export interface WorkloadAppend {
  stream: string;
  events: EventToAppend[];
}

export interface WorkloadOptions {
  seed?: number;
  tenants?: number;
  watchersPerTenant?: number;
  minionsPerTenant?: number;
  /** fraction of appends that are log lines (default 0.25) */
  logShare?: number;
  /** jobs kept open at once (default 40) */
  openJobs?: number;
}

type SlotPhase = 'stopped' | 'starting' | 'running' | 'stopping' | 'exited' | 'backoff';
interface SlotSim {
  tenant: string;
  watcher: string;
  slot: number;
  phase: SlotPhase;
  runId: string;
  pid: number;
  ready: boolean;
}
interface JobSim {
  tenant: string;
  jid: string;
  pending: string[];
}

/** Deterministic PRNG (mulberry32): the same seed gives the same workload. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A synthetic but causally sensible mix of Corral events (tenants, watchers, process
 * lifecycles with reload hand-overs, stats, logs, minions, jobs with per-minion returns,
 * components and the leader lease), for benchmarks and replay tests. Exit events are
 * written at model 1 and 2 alternately, so reads exercise the upcaster.
 */
export class MixedWorkload {
  private readonly random: () => number;
  private readonly options: Required<WorkloadOptions>;
  private readonly slots: SlotSim[] = [];
  private readonly jobs: JobSim[] = [];
  private readonly minions = new Map<string, string[]>();
  private readonly setup: WorkloadAppend[] = [];
  private jobCounter = 0;
  private runCounter = 0;
  private clock = Date.UTC(2026, 10, 23, 15, 0, 0);

  constructor(options: WorkloadOptions = {}) {
    this.options = { seed: 1, tenants: 3, watchersPerTenant: 3, minionsPerTenant: 4, logShare: 0.25, openJobs: 40, ...options };
    this.random = seededRandom(this.options.seed);
    this.buildSetup();
  }

  /** The next append (the setup first: components, tenants, watchers, minions). */
  next(): WorkloadAppend {
    const setup = this.setup.shift();
    if (setup) return setup;
    this.clock += 7;
    const roll = this.random();
    if (roll < this.options.logShare) return this.logLine();
    const r = (roll - this.options.logShare) / (1 - this.options.logShare);
    if (r < 0.5) return this.processStep();
    if (r < 0.85) return this.jobStep();
    if (r < 0.93) return this.minionStep();
    if (r < 0.98) return this.componentStep();
    return this.watcherStep();
  }

  /** Appends until at least `count` events were produced. */
  take(count: number): WorkloadAppend[] {
    const appends: WorkloadAppend[] = [];
    let events = 0;
    while (events < count) {
      const append = this.next();
      appends.push(append);
      events += append.events.length;
    }
    return appends;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private buildSetup(): void {
    for (const pid of [101, 102]) {
      this.setup.push({
        stream: '$components',
        events: [{ type: 'components', action: 'register', key: `node1:${pid}`, data: { kind: 'server', host: 'node1', pid, version: '0.1.0', modelApi: { min: 1, max: 2 } } }],
      });
    }
    this.setup.push(this.leaderLease('node1:101', 1));
    for (let t = 0; t < this.options.tenants; t++) {
      const tenant = `tenant${t}`;
      this.setup.push({ stream: `tenant-${tenant}`, events: [{ type: 'tenants', action: 'create', key: tenant, tenant, data: { name: tenant, configVersion: 1 } }] });
      const ids: string[] = [];
      for (let m = 0; m < this.options.minionsPerTenant; m++) {
        const id = `host${m}`;
        ids.push(id);
        const key = `${tenant}:${id}`;
        this.setup.push({
          stream: `minion-${key}`,
          events: [
            { type: 'minions', action: 'connect', key, tenant, data: { id, version: '0.1.0', protocol: 1, connectedAt: this.clock } },
            { type: 'minions', action: 'grains', key, tenant, data: { grains: grains(id) } },
          ],
        });
      }
      this.minions.set(tenant, ids);
      for (let w = 0; w < this.options.watchersPerTenant; w++) {
        const name = `web${w}`;
        const numprocesses = 2 + (w % 3);
        this.setup.push({ stream: `watcher-${tenant}:${name}`, events: [{ type: 'watchers', action: 'create', key: `${tenant}:${name}`, tenant, data: { name, spec: spec(numprocesses, w) } }] });
        for (let slot = 0; slot < numprocesses; slot++) this.slots.push({ tenant, watcher: name, slot, phase: 'stopped', runId: '', pid: 0, ready: false });
      }
    }
  }

  private processEvent(sim: SlotSim, action: string, data: unknown, schema?: number): WorkloadAppend {
    const key = `${sim.tenant}:${sim.watcher}:${sim.slot}`;
    const event: EventToAppend = { type: 'processes', action, key, tenant: sim.tenant, data, meta: { principal: 'system' } };
    if (schema !== undefined) event.schema = schema;
    return { stream: `process-${key}`, events: [event] };
  }

  private processStep(): WorkloadAppend {
    const sim = this.pick(this.slots);
    const r = this.random();
    switch (sim.phase) {
      case 'stopped':
      case 'exited':
      case 'backoff':
        if (sim.phase === 'exited' && r < 0.4) {
          sim.phase = 'backoff';
          return this.processEvent(sim, 'backoff', { retries: 1, delayMs: 1000, restartAt: this.clock + 1000 });
        }
        sim.phase = 'starting';
        sim.runId = `run${++this.runCounter}`;
        return this.processEvent(sim, 'start', { watcher: sim.watcher, slot: sim.slot, minion: 'host0', runId: sim.runId });
      case 'starting':
        sim.phase = 'running';
        sim.pid = 1000 + (this.runCounter % 60000);
        sim.ready = false;
        return this.processEvent(sim, 'spawn', { pid: sim.pid, minion: 'host0', runId: sim.runId, startedAt: this.clock });
      case 'running':
        if (!sim.ready && r < 0.5) {
          sim.ready = true;
          return this.processEvent(sim, 'ready', { pid: sim.pid, runId: sim.runId });
        }
        if (r < 0.75) return this.processEvent(sim, 'stats', { pid: sim.pid, cpu: Math.round(this.random() * 1000) / 10, rss: Math.floor(this.random() * 1e8) });
        if (r < 0.85) {
          sim.phase = 'stopping';
          return this.processEvent(sim, 'kill', { pid: sim.pid, signal: 'SIGTERM', stop: true, killAt: this.clock + 5000, runId: sim.runId });
        }
        if (r < 0.9) return this.handover(sim);
        return this.exit(sim, 'exited');
      case 'stopping':
        return this.exit(sim, 'stopped');
    }
  }

  private handover(sim: SlotSim): WorkloadAppend {
    const replaced = sim.runId;
    sim.runId = `run${++this.runCounter}`;
    sim.pid = 1000 + (this.runCounter % 60000);
    const append = this.processEvent(sim, 'start', { watcher: sim.watcher, slot: sim.slot, minion: 'host0', runId: sim.runId, replaces: replaced, reloadId: `r${this.runCounter}` });
    // replacement spawned and ready, then handed over; the replaced run is stopped and exits
    const key = append.events[0]!.key;
    const more = (action: string, data: unknown): EventToAppend => ({ type: 'processes', action, key, tenant: sim.tenant, data });
    append.events.push(
      more('spawn', { pid: sim.pid, minion: 'host0', runId: sim.runId, startedAt: this.clock }),
      more('ready', { pid: sim.pid, runId: sim.runId }),
      more('handover', { runId: sim.runId, pid: sim.pid, startedAt: this.clock, replacedRunId: replaced }),
      more('kill', { pid: 1, signal: 'SIGTERM', stop: true, killAt: this.clock + 5000, runId: replaced }),
      more('exit', { pid: 1, runId: replaced, code: 0, signal: null, exitedAt: this.clock, durationMs: 5, usage: null }),
    );
    sim.ready = true;
    return append;
  }

  private exit(sim: SlotSim, phase: SlotPhase): WorkloadAppend {
    const v2 = this.random() < 0.5;
    const base = { pid: sim.pid, runId: sim.runId, code: phase === 'stopped' ? 0 : 1, signal: phase === 'stopped' ? 'SIGTERM' : null, exitedAt: this.clock };
    const data = v2
      ? { ...base, durationMs: Math.floor(this.random() * 100000), usage: { cpuUserMs: 12, cpuSystemMs: 3, maxRssBytes: 4096000 } }
      : base;
    sim.phase = phase === 'stopped' ? 'stopped' : 'exited';
    sim.ready = false;
    return this.processEvent(sim, 'exit', data, v2 ? 2 : 1);
  }

  private logLine(): WorkloadAppend {
    const sim = this.pick(this.slots);
    const key = `${sim.tenant}:${sim.watcher}:${sim.slot}`;
    return {
      stream: `log-${key}`,
      events: [{ type: 'logs', action: 'line', key, tenant: sim.tenant, data: { pid: sim.pid, fd: 'stdout', line: `GET /index.html 200 ${this.clock}` } }],
    };
  }

  private jobStep(): WorkloadAppend {
    if (this.jobs.length < this.options.openJobs && (this.jobs.length === 0 || this.random() < 0.3)) return this.createJob();
    const index = Math.floor(this.random() * this.jobs.length);
    const job = this.jobs[index]!;
    const key = `${job.tenant}:${job.jid}`;
    const event = (action: string, data: unknown): WorkloadAppend => ({
      stream: `job-${key}`,
      events: [{ type: 'jobs', action, key, tenant: job.tenant, data, meta: { principal: 'system' } }],
    });
    const r = this.random();
    if (job.pending.length > 0 && r < 0.9) {
      const minion = job.pending.shift()!;
      const ok = this.random() < 0.9;
      return event('return', { minion, return: ok ? true : 'boom', retcode: ok ? 0 : 1, success: ok, durationMs: Math.floor(this.random() * 500) });
    }
    this.jobs.splice(index, 1);
    if (job.pending.length === 0) return event('complete', { state: r < 0.97 ? 'complete' : 'failed' });
    if (r < 0.95) return event('timeout', { minions: job.pending });
    return event('cancel', { by: 'admin', minions: job.pending });
  }

  private createJob(): WorkloadAppend {
    const tenant = `tenant${Math.floor(this.random() * this.options.tenants)}`;
    const jid = String(20261123150000000000n + BigInt(++this.jobCounter));
    const key = `${tenant}:${jid}`;
    const targets = (this.minions.get(tenant) ?? []).filter(() => this.random() < 0.7);
    this.jobs.push({ tenant, jid, pending: [...targets] });
    const meta = { principal: 'alice' };
    return {
      stream: `job-${key}`,
      events: [
        {
          type: 'jobs',
          action: 'create',
          key,
          tenant,
          data: { jid, fun: 'test.ping', args: [], tgt: '*', tgtType: 'glob', timeoutMs: 30000, user: 'alice', timeoutAt: this.clock + 30000 },
          meta,
        },
        { type: 'jobs', action: 'dispatch', key, tenant, data: { minions: targets }, meta },
      ],
    };
  }

  private minionStep(): WorkloadAppend {
    const tenant = `tenant${Math.floor(this.random() * this.options.tenants)}`;
    const id = this.pick(this.minions.get(tenant) ?? ['host0']);
    const key = `${tenant}:${id}`;
    const r = this.random();
    const data =
      r < 0.3
        ? { action: 'disconnect', data: { reason: 'socket closed', lastSeen: this.clock } }
        : r < 0.7
          ? { action: 'connect', data: { id, version: '0.1.0', protocol: 1, connectedAt: this.clock } }
          : { action: 'grains', data: { grains: { ...grains(id), uptime: Math.floor(this.random() * 1e6) } } };
    return { stream: `minion-${key}`, events: [{ type: 'minions', action: data.action, key, tenant, data: data.data }] };
  }

  private leaderLease(holder: string, term: number): WorkloadAppend {
    return { stream: '$leader', events: [{ type: 'components', action: 'leader', key: holder, data: { holder, term, expiresAt: this.clock + 15000 } }] };
  }

  private componentStep(): WorkloadAppend {
    const r = this.random();
    if (r < 0.1) return this.leaderLease(this.random() < 0.5 ? 'node1:101' : 'node1:102', Math.floor(this.clock / 1000));
    const key = this.random() < 0.5 ? 'node1:101' : 'node1:102';
    if (r < 0.2) return { stream: '$components', events: [{ type: 'components', action: 'state', key, data: { state: 'running', systemModelApi: 2 } }] };
    return { stream: '$components', events: [{ type: 'components', action: 'heartbeat', key, data: {} }] };
  }

  private watcherStep(): WorkloadAppend {
    const sim = this.pick(this.slots);
    const key = `${sim.tenant}:${sim.watcher}`;
    const r = this.random();
    const event = (action: string, data: unknown): WorkloadAppend => ({ stream: `watcher-${key}`, events: [{ type: 'watchers', action, key, tenant: sim.tenant, data }] });
    if (r < 0.3) return event('reload', { reloadId: `r${this.clock}` });
    if (r < 0.6) return event(this.random() < 0.5 ? 'stop' : 'start', {});
    if (r < 0.8) {
      const tenant = sim.tenant;
      return { stream: `tenant-${tenant}`, events: [{ type: 'tenants', action: 'reconfigure', key: tenant, tenant, data: { configVersion: Math.floor(this.clock / 1000), added: [], updated: [sim.watcher], removed: [] } }] };
    }
    const w = Number(sim.watcher.slice(3));
    const current = this.slots.filter((s) => s.tenant === sim.tenant && s.watcher === sim.watcher).length;
    return event('update', { spec: { ...spec(current, w), env: { PORT: String(3000 + w), GEN: String(this.clock) } }, changed: ['env'] });
  }
}

function spec(numprocesses: number, w: number): WatcherSpec {
  return {
    cmd: 'node',
    args: ['server.js'],
    env: { PORT: String(3000 + w) },
    cwd: '/srv/web',
    numprocesses,
    minion: 'host0',
    restart: { delayMs: 1000, minAliveMs: 5000, maxRetries: 5 },
    ready: w % 2 === 0 ? { kind: 'none' } : { kind: 'tcp', port: 3000 + w },
    stopSignal: 'SIGTERM',
    stopWaitMs: 5000,
    logs: { maxLines: 10000 },
    active: true,
  };
}

function grains(id: string): Record<string, unknown> {
  return { os: 'linux', arch: 'x64', hostname: id, cpus: 2, memory: 8 << 30, nodeVersion: 'v20.20.2' };
}
