import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../store/index.js';
import { MixedWorkload, createEmptyViewState, foldEvent, upcastEvent, withMinionPresence, type ProcessView, type ViewState } from '../../projections/index.js';
import { CORRAL_BIN, REPO_ROOT, httpJson, makeTempDir, removeTempDirs, startServerProcess, waitFor } from '../support/index.js';

afterAll(removeTempDirs);

const EVENTS = 200_000;

/** A data directory whose embedded store already holds `count` mixed events (written by this test process). */
async function dataDirWithEvents(count: number): Promise<string> {
  const dataDir = makeTempDir('corral-catch-up-');
  const store = await openStore({ kind: 'embedded', dataDir });
  try {
    const workload = new MixedWorkload({ seed: 7 });
    let appended = 0;
    while (appended < count) {
      const appends = workload.take(Math.min(10_000, count - appended));
      // many appends in flight: the embedded store group-commits them
      for (let i = 0; i < appends.length; i += 256) {
        await Promise.all(appends.slice(i, i + 256).map((append) => store.append(append.stream, append.events)));
      }
      appended += appends.reduce((sum, append) => sum + append.events.length, 0);
    }
    return dataDir;
  } finally {
    await store.close();
  }
}

const metric = (text: string, name: string): number => {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`metric ${name} missing from /metrics`);
  return Number(match[1]);
};

describe('projections in a running server (README "HTTP"; docs/operations.md)', () => {
  it('answers 503 on /health/ready until the views caught up with 200k events, exports lag gauges, and resumes from its snapshot after a restart', async () => {
    const dataDir = await dataDirWithEvents(EVENTS);

    // Spawned by hand (not startServerProcess): the test must talk to the node before it is ready.
    const child = spawn(process.execPath, [CORRAL_BIN, 'serve', '--port', '0', '--data-dir', dataDir, '--no-local-minion'], {
      cwd: REPO_ROOT,
      env: { ...process.env, CORRAL_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let positionBefore = 0;
    try {
      // The first log line with a URL: the node listens while its projections still catch up.
      const url = await waitFor(
        () => {
          for (const line of output.split('\n')) {
            if (!line.startsWith('{')) continue;
            const record = JSON.parse(line) as { url?: string };
            if (record.url) return record.url;
          }
          return null;
        },
        { timeoutMs: 30_000, intervalMs: 5, description: `the listening URL in the output:\n${output}` },
      );
      const answers: { status: number; waitingFor: string[]; caughtUpLogged: boolean }[] = [];
      await waitFor(
        async () => {
          const caughtUpLogged = output.includes('projections: caught up with the store');
          const response = await httpJson(`${url}/health/ready`);
          answers.push({ status: response.status, waitingFor: (response.body as { waitingFor: string[] }).waitingFor, caughtUpLogged });
          return response.status === 200;
        },
        { timeoutMs: 60_000, intervalMs: 5, description: 'readiness after catch-up' },
      );
      const notReady = answers.filter((answer) => answer.status === 503);
      expect(notReady.length, 'at least one 503 while catching up').toBeGreaterThan(0);
      expect(notReady[0]!.waitingFor.some((reason) => /^projections: catching up with the event store \(position \d+ of \d+\)$/.test(reason))).toBe(true);
      // 503 then 200, never back; and no 200 before the engine said it had caught up
      expect(answers.map((answer) => answer.status)).toEqual([...notReady.map(() => 503), 200]);
      expect(output).toContain('projections: caught up with the store');

      const token = (await waitFor(() => readToken(dataDir), { description: 'admin.token' })).trim();
      const metrics = (await httpJson(`${url}/metrics`, { token })).text;
      const position = metric(metrics, 'corral_projection_position');
      expect(position).toBeGreaterThanOrEqual(EVENTS);
      expect(metric(metrics, 'corral_projection_head_position')).toBeGreaterThanOrEqual(position);
      expect(metric(metrics, 'corral_projection_lag_events')).toBeGreaterThanOrEqual(0);
      expect(metric(metrics, 'corral_projection_caught_up')).toBe(1);
      // log lines have no view: the store skips them during catch-up, so fewer were folded than stored
      const folded = metric(metrics, 'corral_projection_folded_events_total');
      expect(folded).toBeGreaterThan(EVENTS / 2);
      expect(folded).toBeLessThanOrEqual(position);

      positionBefore = position;
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    // The graceful stop left a snapshot at (at least) the folded position.
    expect(readdirSync(join(dataDir, 'projections')).length).toBeGreaterThan(0);

    const restarted = await startServerProcess({ dataDir });
    try {
      const metrics = (await httpJson(`${restarted.url}/metrics`, { token: restarted.token })).text;
      expect(metric(metrics, 'corral_projection_position')).toBeGreaterThanOrEqual(positionBefore);
      // only the tail after the snapshot: this node's own registry events and the old node's stop
      expect(metric(metrics, 'corral_projection_folded_events_total')).toBeLessThan(100);
      const loaded = restarted
        .logs()
        .split('\n')
        .filter((line) => line.includes('projections: loaded snapshot'))
        .map((line) => JSON.parse(line) as { position: number });
      expect(loaded).toHaveLength(1);
      expect(loaded[0]!.position).toBeGreaterThanOrEqual(positionBefore);
      // The restored views (the snapshot, served as of its position) equal an independent
      // rebuild from position 0 by this test process. (The live views move on: the restarted
      // node leads and its actors act on the synthetic tenants.)
      const snapshotAt = loaded[0]!.position;
      const rebuilt = await rebuildUpTo(dataDir, snapshotAt);
      for (const view of ['tenants', 'watchers', 'processes', 'minions', 'jobs'] as const) {
        const response = await httpJson(`${restarted.url}/api/v1/tenants/tenant0/views/${view}?at=${snapshotAt}`, { token: restarted.token });
        expect(response.status).toBe(200);
        const served = byKey((response.body as { items: { key: string }[] }).items);
        // reads show a process of a disconnected minion as `unknown` (withMinionPresence), folded or not
        const objects = [...(rebuilt[view] as Map<string, { key: string }>).values()].map((object) =>
          view === 'processes' ? withMinionPresence(object as unknown as ProcessView, rebuilt.minions) : object,
        );
        const expected = byKey(JSON.parse(JSON.stringify(objects.filter((object) => tenantOf(view, object as { key: string }) === 'tenant0'))) as { key: string }[]);
        expect(served.length, view).toBeGreaterThan(0);
        expect(served, view).toEqual(expected);
      }
    } finally {
      expect((await restarted.stop()).code).toBe(0);
    }
  });
});

const byKey = <T extends { key: string }>(items: T[]): T[] => [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

const tenantOf = (view: string, object: { key: string }): string | undefined =>
  view === 'tenants' ? object.key : (object as { tenant?: string }).tenant;

/** The views after `position`, folded from the start of the log (read through the shared LMDB store). */
async function rebuildUpTo(dataDir: string, position: number): Promise<ViewState> {
  const store = await openStore({ kind: 'embedded', dataDir });
  try {
    const state = createEmptyViewState();
    for (let after = 0; after < position; ) {
      const page = await store.readAll({ after, limit: 5_000 });
      if (page.length === 0) break;
      for (const event of page) if (event.position <= position) foldEvent(state, upcastEvent(event, 2));
      after = page[page.length - 1]!.position;
    }
    return state;
  } finally {
    await store.close();
  }
}

function readToken(dataDir: string): string | null {
  try {
    const file = join(dataDir, 'admin.token');
    return existsSync(file) ? readFileSync(file, 'utf8') : null;
  } catch {
    return null;
  }
}
