import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDirs, startServerProcess } from '../support/index.js';

// Issue 15 item 8: a data directory that already existed kept its mode (0755 from a plain
// `mkdir`), so the store files inside it (LMDB writes them 0644) were readable by every user.

afterAll(removeTempDirs);

const modeOf = (path: string): number => statSync(path).mode & 0o777;

describe('the data directory is private to the server user', () => {
  it('an existing 0755 data directory is tightened to 0700 at start, and the log says so', async () => {
    const dataDir = join(makeTempDir('corral-perm-'), 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755); // whatever the umask
    const server = await startServerProcess({ dataDir });
    try {
      expect(modeOf(dataDir)).toBe(0o700);
      expect(server.logs()).toContain(`restricted the data directory ${dataDir} to mode 0700 (it was 0755)`);
    } finally {
      await server.stop();
    }
  });

  it('a new data directory is created 0700, and an already private one is left alone', async () => {
    const dataDir = join(makeTempDir('corral-perm-'), 'fresh', 'data');
    const first = await startServerProcess({ dataDir });
    await first.stop();
    expect(modeOf(dataDir)).toBe(0o700);
    const second = await startServerProcess({ dataDir });
    try {
      expect(modeOf(dataDir)).toBe(0o700);
      expect(second.logs()).not.toContain('restricted the data directory');
    } finally {
      await second.stop();
    }
  });
});
