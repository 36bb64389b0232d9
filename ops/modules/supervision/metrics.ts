import { Counter, Gauge, type Registry } from 'prom-client';
import type { Observable } from 'rxjs';
import type { ActorRuntime, JobService, ProcessStatsSample } from '../../../actors/index.js';
import type { MinionHub } from '../../../gateway/minion/index.js';

export interface SupervisionMetrics {
  /** counts one command by name and outcome (ok, or the error code) */
  command(name: string, outcome: string): void;
  stop(): void;
}

/**
 * Prometheus metrics of supervision: live CPU and RSS per process slot (from the minions'
 * samples, not the stored once-a-minute ones), actors, leadership, minions and jobs. All
 * are read at scrape time; samples of a process not heard of for `staleMs` are dropped so a
 * stopped slot disappears from the exposition instead of showing its last value forever.
 */
export function registerSupervisionMetrics(
  registry: Registry,
  sources: { runtime: ActorRuntime; stats$: Observable<ProcessStatsSample>; hub: MinionHub; jobs: () => JobService | null },
  staleMs = 30_000,
): SupervisionMetrics {
  const latest = new Map<string, ProcessStatsSample & { seenAt: number }>();
  const subscription = sources.stats$.subscribe((sample) => latest.set(sample.processKey, { ...sample, seenAt: Date.now() }));
  const labelsOf = (key: string, tenant: string): { tenant: string; watcher: string; slot: string } => {
    const parts = key.split(':');
    return { tenant, watcher: parts[1] ?? '', slot: parts[2] ?? '' };
  };
  const fresh = (): (ProcessStatsSample & { seenAt: number })[] => {
    const now = Date.now();
    const out = [];
    for (const [key, sample] of latest) {
      if (now - sample.seenAt > staleMs) latest.delete(key);
      else out.push(sample);
    }
    return out;
  };
  new Gauge({
    name: 'corral_process_cpu_percent',
    help: 'CPU use of a managed process (percent of one core), from the latest minion sample',
    labelNames: ['tenant', 'watcher', 'slot'],
    registers: [registry],
    collect() {
      this.reset();
      for (const sample of fresh()) this.set(labelsOf(sample.processKey, sample.tenant), sample.cpu);
    },
  });
  new Gauge({
    name: 'corral_process_rss_bytes',
    help: 'resident memory of a managed process, from the latest minion sample',
    labelNames: ['tenant', 'watcher', 'slot'],
    registers: [registry],
    collect() {
      this.reset();
      for (const sample of fresh()) this.set(labelsOf(sample.processKey, sample.tenant), sample.rss);
    },
  });
  new Gauge({
    name: 'corral_actors',
    help: 'actors (tenants, watchers, process slots) held by the runtime of this node',
    registers: [registry],
    collect() {
      this.set(sources.runtime.status().actors);
    },
  });
  new Gauge({
    name: 'corral_actor_runtime_leader',
    help: '1 while this node holds the leader lease and runs the actors, else 0',
    registers: [registry],
    collect() {
      this.set(sources.runtime.isLeader && sources.runtime.status().state === 'running' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'corral_actor_rehydrate_seconds',
    help: 'time the runtime took to rebuild every actor from the store when it last started leading',
    registers: [registry],
    collect() {
      const ms = sources.runtime.status().rehydrateMs;
      this.set(ms === null ? 0 : ms / 1000);
    },
  });
  new Gauge({
    name: 'corral_minion_connections',
    help: 'minion websocket connections on this node',
    registers: [registry],
    collect() {
      this.set(sources.hub.connections().length);
    },
  });
  new Gauge({
    name: 'corral_jobs_running',
    help: 'unfinished jobs held by the job service of this node',
    registers: [registry],
    collect() {
      this.set(sources.jobs()?.runningJobs ?? 0);
    },
  });
  const commands = new Counter({
    name: 'corral_commands_total',
    help: 'write commands (HTTP, websocket cmd, command socket) by name and outcome',
    labelNames: ['command', 'outcome'],
    registers: [registry],
  });
  return {
    command: (name, outcome) => commands.inc({ command: name, outcome }),
    stop: () => subscription.unsubscribe(),
  };
}
