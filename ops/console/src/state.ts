import type { JobMinionResult, JobView, MinionView, ProcessView, TenantView, WatcherView } from '../../../projections/index.js';
import type { LiveEvent, LiveSocket } from './ws.js';

/**
 * The live views the console shows (docs/architecture.md "Views"), kept up to date over the websocket: a
 * snapshot first, then every change's `object` (null when the object was destroyed).
 * Subscriptions cover every tenant the principal sees; pages pick their tenant's objects.
 */
export class LiveCollection<T extends { key: string; tenant?: string }> {
  readonly items = new Map<string, T>();
  /** position of the last change applied (null before the snapshot) */
  position: number | null = null;
  private readonly listeners = new Set<(event: LiveEvent | null) => void>();

  constructor(readonly view: string) {}

  connect(live: LiveSocket): void {
    const retry = (): void => {
      // Refused (e.g. a resume position this server has not reached, after its data was
      // replaced): start over from a fresh snapshot rather than stay silent.
      this.position = null;
      setTimeout(() => this.connect(live), 1000);
    };
    live.subscribe(
      { id: `console.${this.view}`, select: `${this.view}.*.*`, snapshot: true },
      {
        snapshot: (items, position) => {
          this.items.clear();
          for (const item of items) this.items.set(String(item.key), item as unknown as T);
          this.position = position;
          this.notify(null);
        },
        event: (event) => {
          if (event.object) this.items.set(event.key, event.object as unknown as T);
          else this.items.delete(event.key);
          this.position = event.pos;
          this.notify(event);
        },
        error: (error) => {
          if (error.code === 'unavailable') retry();
        },
      },
    );
  }

  ofTenant(tenant: string): T[] {
    const result: T[] = [];
    for (const item of this.items.values()) if (item.tenant === tenant) result.push(item);
    return result.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  onChange(listener: (event: LiveEvent | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(event: LiveEvent | null): void {
    for (const listener of this.listeners) listener(event);
  }
}

// The objects the console shows are the views of docs/architecture.md "Views", exactly as the server
// serves them: their types come from projections (type-only: nothing of it is bundled).

// The objects shown are the views of docs/architecture.md "Views" exactly as served: their types come from
// projections (a type-only import, so nothing of it is bundled).
export type TenantObject = TenantView;
export type WatcherObject = WatcherView;
export type ProcessObject = ProcessView;
export type MinionObject = MinionView;
export type JobObject = JobView;
export type { JobMinionResult };

/** CPU and memory samples per process, for the sparklines (a bounded ring per process). */
export class StatsHistory {
  static readonly SAMPLES = 60;
  private readonly samples = new Map<string, { cpu: number[]; rss: number[] }>();

  record(key: string, cpu: number, rss: number): void {
    let entry = this.samples.get(key);
    if (!entry) {
      entry = { cpu: [], rss: [] };
      this.samples.set(key, entry);
    }
    entry.cpu.push(cpu);
    entry.rss.push(rss);
    if (entry.cpu.length > StatsHistory.SAMPLES) {
      entry.cpu.splice(0, entry.cpu.length - StatsHistory.SAMPLES);
      entry.rss.splice(0, entry.rss.length - StatsHistory.SAMPLES);
    }
  }

  of(key: string): { cpu: number[]; rss: number[] } {
    return this.samples.get(key) ?? { cpu: [], rss: [] };
  }
}

/** Everything live, shared by the pages. */
export class LiveState {
  readonly tenants = new LiveCollection<TenantObject>('tenants');
  readonly watchers = new LiveCollection<WatcherObject>('watchers');
  readonly processes = new LiveCollection<ProcessObject>('processes');
  readonly minions = new LiveCollection<MinionObject>('minions');
  readonly jobs = new LiveCollection<JobObject>('jobs');
  readonly stats = new StatsHistory();

  constructor(readonly live: LiveSocket) {
    for (const collection of [this.tenants, this.watchers, this.processes, this.minions, this.jobs]) collection.connect(live);
    this.processes.onChange((event) => {
      if (event === null) {
        for (const process of this.processes.items.values()) if (process.state === 'running') this.stats.record(process.key, process.cpu, process.rss);
      } else if (event.action === 'stats' && event.object) {
        const process = event.object as unknown as ProcessObject;
        this.stats.record(process.key, process.cpu, process.rss);
      }
    });
  }
}
