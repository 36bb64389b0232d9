import type { Change } from '../change.js';
import { downcastView } from '../model/versions.js';
import type { ConnectionView, ProcessView } from '../views/types.js';

/** A change the gateway publishes without storing it (connections, unsampled stats). */
export type EphemeralChange = Pick<Change, 'type' | 'action' | 'key'> & Partial<Change>;

/**
 * What the engine knows that is never stored: the connections view (fed by the gateway) and
 * unstored CPU/RSS samples (`processes.stats` published live between the stored ones). The
 * samples are shown on the live processes view while they belong to the process's current
 * pid; they are never folded or snapshotted, so replays stay deterministic.
 */
export class EphemeralState {
  readonly connections = new Map<string, ConnectionView>();
  private readonly liveStats = new Map<string, { pid: number; cpu: number; rss: number }>();

  /** Updates the ephemeral views; returns the change's object and original (at `ownModel`). */
  apply(change: EphemeralChange, current: ProcessView | undefined, ownModel: number): { object: Record<string, unknown> | null; original: Record<string, unknown> | null } {
    let original = change.original ?? null;
    let object = change.object ?? null;
    if (change.type === 'processes' && change.action === 'stats') {
      const sample = change.data as { pid?: unknown; cpu?: unknown; rss?: unknown } | null;
      if (current && sample && sample.pid === current.pid && typeof sample.cpu === 'number' && typeof sample.rss === 'number') {
        const before = this.withLiveStats(current);
        this.liveStats.set(change.key, { pid: sample.pid as number, cpu: sample.cpu, rss: sample.rss });
        original = original ?? (downcastView('processes', before, ownModel) as unknown as Record<string, unknown>);
        object = object ?? (downcastView('processes', { ...current, cpu: sample.cpu, rss: sample.rss }, ownModel) as unknown as Record<string, unknown>);
      }
    } else if (change.type === 'connections') {
      original = (this.connections.get(change.key) as Record<string, unknown> | undefined) ?? null;
      if (change.action === 'destroy') {
        this.connections.delete(change.key);
        object = object ?? original;
      } else if (object) {
        this.connections.set(change.key, object as ConnectionView);
      }
    }
    return { object, original };
  }

  get hasLiveStats(): boolean {
    return this.liveStats.size > 0;
  }

  withLiveStats(process: ProcessView): ProcessView {
    const sample = this.liveStats.get(process.key);
    if (!sample) return process;
    if (sample.pid !== process.pid) {
      this.liveStats.delete(process.key); // a sample of an earlier run
      return process;
    }
    return { ...process, cpu: sample.cpu, rss: sample.rss };
  }
}
