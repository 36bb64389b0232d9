import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson } from '../support/index.js';
import { startReadHarness, twoTenantWorkload, type ReadHarness } from './harness.js';

// Must show (issue 3): the jobs view at a past position equals the view that was live at
// that moment, recorded over HTTP while the log grew.

interface Recording {
  position: number;
  /** the store clock for every event of the chunk that ended at `position` */
  time: number;
  jobs: Record<string, unknown[]>;
  processes: unknown[];
  tenants: unknown[];
}

// a day ago: every recorded time is in the past, whenever the test runs
const START = Math.floor(Date.now() / 1000) * 1000 - 86_400_000;
let clock = START;
let h: ReadHarness;
let snapshotDir: string;
const recordings: Recording[] = [];
const get = (path: string, token: string = h.tokens.admin) => httpJson(`${h.base}${path}`, { token });

beforeAll(async () => {
  snapshotDir = await mkdtemp(join(tmpdir(), 'corral-read-snapshots-'));
  // Small snapshot spacing so the past is served from in-memory and on-disk snapshots plus replay.
  h = await startReadHarness({ now: () => clock, engine: { snapshotDir, snapshotEveryEvents: 1_500, memorySnapshotEveryEvents: 400, memorySnapshots: 4 } });
  const workload = twoTenantWorkload(11);
  for (let chunk = 0; chunk < 16; chunk++) {
    clock += 60_000;
    await h.append(workload.take(150 + chunk * 37));
    const jobs0 = await get('/api/v1/tenants/tenant0/jobs', h.tokens.tenant0);
    const jobs1 = await get('/api/v1/tenants/tenant1/views/jobs', h.tokens.tenant1);
    const processes = await get('/api/v1/tenants/tenant0/processes?model=1');
    const tenants = await get('/api/v1/tenants');
    // nothing was appended between the reads: all four describe the same position
    expect(new Set([jobs0.body.position, jobs1.body.position, processes.body.position, tenants.body.position]).size).toBe(1);
    recordings.push({
      position: jobs0.body.position,
      time: clock,
      jobs: { tenant0: jobs0.body.items, tenant1: jobs1.body.items },
      processes: processes.body.items,
      tenants: tenants.body.items,
    });
  }
}, 60_000);
afterAll(async () => {
  await h?.close();
  await rm(snapshotDir, { recursive: true, force: true });
});

describe('time travel over HTTP', () => {
  it('the jobs view at each recorded position equals the view that was live then', async () => {
    expect(recordings.length).toBe(16);
    const finalJobs = (await get('/api/v1/tenants/tenant0/jobs')).body.items;
    // the recordings differ from each other and from now: the test could fail
    expect(new Set(recordings.map((r) => JSON.stringify(r.jobs.tenant0))).size).toBe(recordings.length);
    expect(recordings[3]!.jobs.tenant0).not.toEqual(finalJobs);
    for (const recording of recordings) {
      for (const tenant of ['tenant0', 'tenant1']) {
        const response = await get(`/api/v1/tenants/${tenant}/views/jobs?at=${recording.position}`);
        expect(response.status).toBe(200);
        expect(response.body.position).toBe(recording.position);
        expect(response.body.items, `${tenant} jobs at ${recording.position}`).toEqual(recording.jobs[tenant]);
      }
    }
  });

  it('other views and model versions travel too, and lists accept ?at=', async () => {
    for (const recording of recordings.filter((_, i) => i % 3 === 0)) {
      const processes = await get(`/api/v1/tenants/tenant0/views/processes?at=${recording.position}&model=1`);
      expect(processes.body.items).toEqual(recording.processes);
      const jobs = await get(`/api/v1/tenants/tenant0/jobs?at=${recording.position}`, h.tokens.tenant0);
      expect(jobs.body.items).toEqual(recording.jobs.tenant0);
      const tenants = await get(`/api/v1/tenants?at=${recording.position}`);
      expect(tenants.body.items).toEqual(recording.tenants);
      const job = recording.jobs.tenant0.at(-1) as { jid: string };
      const one = await get(`/api/v1/tenants/tenant0/jobs/${job.jid}?at=${recording.position}`, h.tokens.tenant0);
      expect(one.body).toEqual(job);
      expect(one.headers.get('x-corral-position')).toBe(String(recording.position));
    }
    const firstJob = recordings.at(-1)!.jobs.tenant0.at(-1) as { jid: string };
    const before = await get(`/api/v1/tenants/tenant0/jobs/${firstJob.jid}?at=${recordings[0]!.position}`);
    const created = recordings.findIndex((r) => r.jobs.tenant0.some((j: any) => j.jid === firstJob.jid));
    expect(created).toBeGreaterThan(0);
    expect(before.status).toBe(404);
  });

  it('?at= an ISO time shows the log as it stood then', async () => {
    for (const recording of recordings.filter((_, i) => i % 4 === 1)) {
      // any time up to the next chunk's first event shows this recording
      for (const time of [recording.time, recording.time + 30_000]) {
        const response = await get(`/api/v1/tenants/tenant0/views/jobs?at=${new Date(time).toISOString()}`);
        expect(response.status).toBe(200);
        expect(response.body.position).toBe(recording.position);
        expect(response.body.items).toEqual(recording.jobs.tenant0);
      }
      // with an offset, the `+` left unencoded as people type it
      const local = new Date(recording.time + 3_600_000).toISOString().replace('Z', '+01:00');
      const offset = await get(`/api/v1/tenants/tenant0/views/jobs?at=${local}`);
      expect(offset.status, offset.text).toBe(200);
      expect(offset.body.position).toBe(recording.position);
    }
  });

  it('?at=0 is the empty log; ?at=<head> is now', async () => {
    expect((await get('/api/v1/tenants/tenant0/views/jobs?at=0')).body).toMatchObject({ items: [], position: 0 });
    const head = await h.store.headPosition();
    const now = await get('/api/v1/tenants/tenant0/views/jobs');
    expect((await get(`/api/v1/tenants/tenant0/views/jobs?at=${head}`)).body).toEqual(now.body);
  });

  it('a filter applies to the past view', async () => {
    const recording = recordings[8]!;
    const filter = encodeURIComponent('state=Eq("running")');
    const response = await get(`/api/v1/tenants/tenant0/views/jobs?at=${recording.position}&filter=${filter}`);
    const expected = recording.jobs.tenant0.filter((job: any) => job.state === 'running');
    expect(expected.length).toBeGreaterThan(0);
    expect(response.body.items).toEqual(expected);
  });
});
