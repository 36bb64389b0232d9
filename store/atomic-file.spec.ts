import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from './atomic-file.js';

const dir = mkdtempSync(join(tmpdir(), 'corral-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('atomic file writes', () => {
  for (const [name, write] of [
    ['sync', async (path: string, data: string) => writeFileAtomicSync(path, data, 0o600)],
    ['async', (path: string, data: string) => writeFileAtomic(path, data, 0o600)],
  ] as const) {
    it(`${name}: replace the file with the given mode and leave no temp file`, async () => {
      const path = join(dir, `${name}.json`);
      await write(path, 'one');
      await write(path, 'two');
      expect(readFileSync(path, 'utf8')).toBe('two');
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir).filter((file) => file.endsWith('.tmp'))).toEqual([]);
    });

    it(`${name}: remove the temp file when the rename fails, and throw`, async () => {
      // renaming a file over a non-empty directory fails after the temp file was written
      const path = join(dir, `${name}-dir`);
      await write(join(path, 'inner'), 'x').catch(() => undefined);
      const { mkdirSync, writeFileSync } = await import('node:fs');
      mkdirSync(path, { recursive: true });
      writeFileSync(join(path, 'inner'), 'x');
      await expect(write(path, 'y')).rejects.toThrow();
      expect(readdirSync(dir).filter((file) => file.endsWith('.tmp'))).toEqual([]);
    });
  }
});
