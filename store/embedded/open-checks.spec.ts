import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptStoreError, EventTooLargeError, InvalidArgumentError } from '../errors.js';
import { record, waitFor } from '../testing/helpers.js';
import type { ExpectedRevision } from '../types.js';
import { EmbeddedEventStore, openEmbeddedStore } from './index.js';

/** Fingerprint of a directory's files (except LMDB's lock file), to prove nothing was changed. */
async function fingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (path: string): Promise<void> => {
    const info = await stat(path);
    if (!info.isDirectory()) {
      hash.update(path).update(await readFile(path));
      return;
    }
    for (const name of (await readdir(path)).sort()) if (name !== 'lock.mdb') await walk(join(path, name));
  };
  await walk(dir);
  return hash.digest('hex');
}

const ev = (n: number) => ({ type: 'tenants', action: 'create', key: `t${n}`, data: { n } });

describe('embedded store: bad input and bad data directories (must show)', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'corral-bad-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('rejects oversized events, invalid stream names and malformed expected revisions; nothing is written, also after reopening', async () => {
    const store = await openEmbeddedStore({ dataDir, maxEventBytes: 4096 });
    await store.append('tenant-a', [ev(0)]);
    const attempts: [() => Promise<unknown>, new (...args: never[]) => Error, RegExp][] = [
      [() => store.append('tenant-a', [ev(1), { ...ev(2), data: 'y'.repeat(5000) }]), EventTooLargeError, /event of \d+ bytes exceeds the limit of 4096 bytes/],
      [() => store.append('Tenant A', [ev(1)]), InvalidArgumentError, /invalid stream name "Tenant A"/],
      [() => store.append('tenant-a/x', [ev(1)]), InvalidArgumentError, /invalid stream name/],
      [() => store.append('tenant-a', [ev(1)], { expectedRevision: -5 }), InvalidArgumentError, /invalid expected revision -5/],
      [() => store.append('tenant-a', [ev(1)], { expectedRevision: 1.5 }), InvalidArgumentError, /invalid expected revision 1.5/],
      [() => store.append('tenant-a', [ev(1)], { expectedRevision: 'foo' as ExpectedRevision }), InvalidArgumentError, /invalid expected revision "foo"/],
    ];
    for (const [attempt, type, message] of attempts) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
      expect(await store.headPosition()).toBe(1);
    }
    expect(store.stats().appendedEvents).toBe(1);
    await store.close();
    const reopened = await openEmbeddedStore({ dataDir });
    expect(await reopened.headPosition()).toBe(1);
    expect((await reopened.readAll()).map((e) => e.key)).toEqual(['t0']);
    expect(await reopened.streamInfo('tenant-a')).toMatchObject({ lastRevision: 0 });
    await reopened.close();
  });

  const refuses = async (problem: RegExp): Promise<void> => {
    const before = await fingerprint(dataDir);
    const error = await openEmbeddedStore({ dataDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStoreError);
    expect((error as CorruptStoreError).code).toBe('corrupt');
    expect((error as Error).message).toMatch(problem);
    expect((error as Error).message).toMatch(/nothing was changed/);
    expect(await fingerprint(dataDir)).toBe(before);
  };

  it('refuses a store path that is a file', async () => {
    await writeFile(join(dataDir, 'store'), 'not a directory');
    await refuses(/is not a directory/);
  });

  it('refuses a store directory holding files that are not LMDB', async () => {
    await mkdir(join(dataDir, 'store'));
    await writeFile(join(dataDir, 'store', 'notes.txt'), 'mine');
    await refuses(/contains files that are not an LMDB environment \(notes.txt\)/);
  });

  it('refuses a damaged or empty data.mdb', async () => {
    await mkdir(join(dataDir, 'store'));
    await writeFile(join(dataDir, 'store', 'data.mdb'), Buffer.alloc(64 * 1024, 0x5a));
    await refuses(/not an LMDB database/);
    await writeFile(join(dataDir, 'store', 'data.mdb'), Buffer.alloc(0));
    await refuses(/not an LMDB database \(0 bytes/);
  });

  it("refuses an LMDB environment that is someone else's", async () => {
    const foreign = open({ path: join(dataDir, 'store') });
    await foreign.put('user:1', { name: 'not corral' });
    await foreign.close();
    await refuses(/does not belong to Corral/);
  });

  it('refuses a foreign or newer format marker', async () => {
    const store = await openEmbeddedStore({ dataDir });
    await store.append('tenant-a', [ev(0)]);
    await store.close();
    const env = open({ path: join(dataDir, 'store'), maxDbs: 8, overlappingSync: false });
    const meta = env.openDB('meta', {});
    await meta.put('format', { marker: 'corral-event-store', format: 99 });
    await env.close();
    await refuses(/written in store format 99 by a newer Corral/);
    const env2 = open({ path: join(dataDir, 'store'), maxDbs: 8, overlappingSync: false });
    await env2.openDB('meta', {}).put('format', { marker: 'something-else', format: 1 });
    await env2.close();
    await refuses(/foreign format marker/);
  });
});

describe('embedded store specifics', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'corral-emb-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('group commit: many concurrent appends share few commits', async () => {
    const store = await openEmbeddedStore({ dataDir });
    const before = store.stats();
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.append(`tenant-t${i % 7}`, [ev(i)])));
    const after = store.stats();
    expect(after.appendCalls - before.appendCalls).toBe(200);
    expect(after.commits - before.commits).toBeLessThan(50);
    expect(after.headPosition).toBe(200);
    await store.close();
  });

  it('persists across reopen, revisions continue, and retention metadata survives', async () => {
    const store = await openEmbeddedStore({ dataDir });
    await store.setStreamMetadata('log-a:w:0', { maxCount: 3 });
    await store.append('log-a:w:0', [1, 2, 3, 4, 5].map((n) => ({ type: 'logs', action: 'line', key: 'a:w:0', data: { n } })));
    await store.close();
    const again = await openEmbeddedStore({ dataDir });
    expect(await again.streamInfo('log-a:w:0')).toEqual({ stream: 'log-a:w:0', lastRevision: 4, firstRevision: 2, metadata: { maxCount: 3 } });
    await again.append('log-a:w:0', [{ type: 'logs', action: 'line', key: 'a:w:0', data: { n: 6 } }], { expectedRevision: 4 });
    expect((await again.readStream('log-a:w:0')).map((e) => (e.data as { n: number }).n)).toEqual([4, 5, 6]);
    // the dropped events are gone from the global log as well
    expect((await again.readAll()).map((e) => e.revision)).toEqual([3, 4, 5]);
    await again.close();
  });

  it('unsubscribing releases the subscription and stops the cross-process poll', async () => {
    const store = (await openEmbeddedStore({ dataDir })) as EmbeddedEventStore;
    const one = record(store.subscribeToAll({ after: 0 }));
    const two = record(store.subscribeToStream('tenant-a'));
    await waitFor('both caught up', () => one.caughtUp && two.caughtUp);
    expect(store.liveSubscriptionCount).toBe(2);
    expect(store.polling).toBe(true);
    one.subscription.unsubscribe();
    two.subscription.unsubscribe();
    expect(store.liveSubscriptionCount).toBe(0);
    expect(store.polling).toBe(false);
    await store.close();
  });

  it('a second store instance on the same directory sees appends through the head poll', async () => {
    const writer = await openEmbeddedStore({ dataDir });
    const reader = await openEmbeddedStore({ dataDir });
    const seen = record(reader.subscribeToAll({ after: 0 }));
    await waitFor('caught up', () => seen.caughtUp);
    await writer.append('tenant-a', [ev(1)]);
    await waitFor('the event in the other instance', () => seen.events.length === 1, 2_000);
    seen.subscription.unsubscribe();
    await writer.close();
    await reader.close();
  });
});
