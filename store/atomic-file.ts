import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';

/**
 * Replaces `path` with `data` so that a reader sees the old file or the new one, never half
 * of one: written to `<path>.<pid>.tmp`, then renamed. On failure (a full disk) the temp file
 * is removed, so nothing is left behind, and the error is thrown (issue 14 item 5).
 * Here, not in ops/, because every folder that writes small files may import store/.
 */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode: number): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, data, { mode });
    chmodSync(temp, mode);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** The same, synced to disk before the rename (for files a crash must not lose). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number, temp = `${path}.${process.pid}.tmp`): Promise<void> {
  try {
    const handle = await open(temp, 'w', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
