import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../store/index.js';
import { waitFor } from '../../store/testing/helpers.js';
import { buildChildScripts, removeChildScripts, startChild } from './child.js';

describe('embedded store: two processes, one data directory (must show)', () => {
  let dataDir: string;
  beforeAll(buildChildScripts);
  afterAll(async () => {
    await removeChildScripts();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('both append at once; all events present, revisions contiguous, each subscriber sees every event of both', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'corral-two-'));
    const count = 3000;
    const children = ['a', 'b'].map((label) => startChild('two-process-writer.js', [dataDir, label, String(count), String(2 * count)]));
    await waitFor('both children ready', () => children.every((c) => c.lines.includes('ready')), 20_000);
    for (const child of children) child.process.stdin.write('go\n');
    const exits = await Promise.all(children.map((c) => c.exited));
    for (const [i, exit] of exits.entries()) expect(exit.code, children[i]!.stderr.join('')).toBe(0);

    const store = await openStore({ kind: 'embedded', dataDir });
    try {
      const all = await store.readAll({ after: 0, limit: 10 * count });
      expect(all).toHaveLength(2 * count);
      all.forEach((event, i) => expect(event.position).toBe(i + 1));
      const byStream = new Map<string, number[]>();
      for (const event of all) byStream.set(event.stream, [...(byStream.get(event.stream) ?? []), event.revision]);
      expect([...byStream.keys()].sort()).toEqual(['own-a', 'own-b', 'shared-a', 'shared-b']);
      for (const revisions of byStream.values()) expect(revisions).toEqual(revisions.map((_, i) => i));
      for (const label of ['a', 'b']) {
        const mine = all.filter((e) => (e.data as { label: string }).label === label).map((e) => (e.data as { n: number }).n).sort((x, y) => x - y);
        expect(mine).toEqual(Array.from({ length: count }, (_, i) => i));
      }
      // the two writers really interleaved in the shared streams
      const sharedWriters = all.filter((e) => e.stream === 'shared-a').map((e) => (e.data as { label: string }).label);
      expect(new Set(sharedWriters).size).toBe(2);
      const expected = all.map((e) => `${e.position}:${e.id}`);
      for (const child of children) {
        const report = JSON.parse(child.lines.find((l) => l.startsWith('{'))!) as { label: string; seen: string[] };
        expect(report.seen).toEqual(expected);
      }
    } finally {
      await store.close();
    }
  }, 120_000);
});
