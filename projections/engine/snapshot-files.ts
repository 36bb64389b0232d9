import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { FOLDED_VIEW_NAMES, createEmptyViewState, type ViewState } from '../views/types.js';
import { INTERNAL_MODEL } from '../model/versions.js';
import type { Logger } from '../../store/index.js';
import { writeFileAtomic } from '../../store/index.js';

/**
 * View snapshots on disk: `<dir>/snapshot-<position>.msgpack`, written to a temp file,
 * fsynced and renamed (a crash leaves either the old set or the new file, never half a
 * file). A snapshot that cannot be read, is of another format version or model, or is ahead
 * of the store (a foreign or wiped store) is skipped with a warning and left in place.
 */
export const SNAPSHOT_FORMAT = 'corral-projections-snapshot';
/** bump when the snapshot layout or a fold's semantics change: old snapshots are then ignored */
export const SNAPSHOT_FORMAT_VERSION = 1;

const packr = new Packr({ useRecords: false, moreTypes: false });
const NAME = /^snapshot-(\d{1,16})\.msgpack$/;

interface SnapshotFile {
  format: string;
  formatVersion: number;
  model: number;
  position: number;
  writtenAt: number;
  leader: string | null;
  views: Record<string, object[]>;
}

export interface LoadedSnapshot {
  position: number;
  state: ViewState;
}

export function snapshotFileName(position: number): string {
  return `snapshot-${String(position).padStart(16, '0')}.msgpack`;
}

export function encodeSnapshot(state: ViewState, position: number, writtenAt: number): Buffer {
  const views: Record<string, object[]> = {};
  for (const name of FOLDED_VIEW_NAMES) views[name] = [...state[name].values()];
  const file: SnapshotFile = {
    format: SNAPSHOT_FORMAT,
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    model: INTERNAL_MODEL,
    position,
    writtenAt,
    leader: state.leader,
    views,
  };
  return packr.pack(file);
}

/** Throws with the reason when the bytes are not a snapshot this code can use. */
export function decodeSnapshot(bytes: Buffer): LoadedSnapshot {
  const file = packr.unpack(bytes) as Partial<SnapshotFile> | null;
  if (!file || typeof file !== 'object' || file.format !== SNAPSHOT_FORMAT) throw new Error('not a corral projections snapshot');
  if (file.formatVersion !== SNAPSHOT_FORMAT_VERSION) throw new Error(`snapshot format version ${String(file.formatVersion)}, this code reads ${SNAPSHOT_FORMAT_VERSION}`);
  if (file.model !== INTERNAL_MODEL) throw new Error(`snapshot folded at model ${String(file.model)}, this code folds at ${INTERNAL_MODEL}`);
  if (typeof file.position !== 'number' || !Number.isInteger(file.position) || file.position < 0) throw new Error('snapshot has no valid position');
  const state = createEmptyViewState();
  state.leader = typeof file.leader === 'string' ? file.leader : null;
  for (const name of FOLDED_VIEW_NAMES) {
    const objects = file.views?.[name];
    if (!Array.isArray(objects)) throw new Error(`snapshot lacks the ${name} view`);
    const map = state[name] as Map<string, object>;
    for (const object of objects as { key?: unknown }[]) {
      if (!object || typeof object.key !== 'string') throw new Error(`snapshot ${name} view holds an object without a key`);
      map.set(object.key, object);
    }
  }
  return { position: file.position, state };
}

export class SnapshotDirectory {
  private readonly dir: string;
  private readonly logger: Logger;
  private readonly keep: number;
  /** files found unreadable: reported once, never deleted */
  private readonly rejected = new Set<string>();

  constructor(dir: string, keep: number, logger: Logger) {
    this.dir = dir;
    this.keep = Math.max(1, keep);
    this.logger = logger;
  }

  /** Snapshot positions on disk, newest first (including rejected ones). */
  async list(): Promise<{ position: number; file: string }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const found: { position: number; file: string }[] = [];
    for (const name of names) {
      const match = NAME.exec(name);
      if (match) found.push({ position: Number(match[1]), file: name });
    }
    return found.sort((a, b) => b.position - a.position);
  }

  /** The newest usable snapshot at or below `maxPosition`, or null. */
  async loadLatest(maxPosition: number): Promise<LoadedSnapshot | null> {
    for (const entry of await this.list()) {
      if (this.rejected.has(entry.file)) continue;
      if (entry.position > maxPosition) continue;
      const loaded = await this.load(entry.file);
      if (!loaded) continue;
      if (loaded.position > maxPosition) {
        this.reject(entry.file, `its position ${loaded.position} is beyond the store's head ${maxPosition} (a different or wiped store?)`);
        continue;
      }
      return loaded;
    }
    return null;
  }

  /** Positions of snapshots beyond the store's head: a sign of a foreign or reset store. */
  async warnAboutSnapshotsBeyond(head: number): Promise<void> {
    for (const entry of await this.list()) {
      if (entry.position > head && !this.rejected.has(entry.file)) {
        this.reject(entry.file, `its position ${entry.position} is beyond the store's head ${head} (a different or wiped store?)`);
      }
    }
  }

  private async load(file: string): Promise<LoadedSnapshot | null> {
    try {
      return decodeSnapshot(await readFile(join(this.dir, file)));
    } catch (error) {
      // pruned meanwhile by another server process sharing the data directory
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      this.reject(file, (error as Error).message);
      return null;
    }
  }

  private reject(file: string, reason: string): void {
    this.rejected.add(file);
    this.logger.warn({ file: join(this.dir, file), reason }, 'ignoring projection snapshot (left in place); rebuilding from events instead');
  }

  async write(bytes: Buffer, position: number): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const file = snapshotFileName(position);
    await writeFileAtomic(join(this.dir, file), bytes, 0o600, join(this.dir, `.${file}.${process.pid}.tmp`));
    await syncDirectory(this.dir);
    await this.prune();
    return join(this.dir, file);
  }

  /** Keeps the newest `keep` good snapshots; rejected files are never touched. */
  private async prune(): Promise<void> {
    const good = (await this.list()).filter((entry) => !this.rejected.has(entry.file));
    for (const old of good.slice(this.keep)) {
      // force: another server process on the same data directory may have pruned it already
      await rm(join(this.dir, old.file), { force: true });
      this.logger.debug({ file: old.file }, 'pruned old projection snapshot');
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}
