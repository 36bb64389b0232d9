// Issue 5 must-show: 1,000 jobs of test.ping to 3 real minions (the local one and two remote
// `corral minion` processes) through the HTTP API: all complete, each with exactly 3
// returns, no duplicate return in the log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type ServerProcess } from '../support/index.js';
import { api, cleanupCorral, history, startCorral } from '../supervision/support.js';
import { createJob, startRemoteMinion, stopRemoteMinions, waitMinions } from './support.js';

const JOBS = 1000;
const IN_FLIGHT = 50;
let server: ServerProcess;

beforeAll(async () => {
  server = await startCorral({ config: { minion: { id: 'local1' }, tenants: { acme: { watchers: {} } } } });
  startRemoteMinion(server, 'remote1', { role: 'web' });
  startRemoteMinion(server, 'remote2', { role: 'db' });
  await waitMinions(server, ['local1', 'remote1', 'remote2']);
}, 90_000);
afterAll(async () => {
  await stopRemoteMinions();
  await cleanupCorral([server]);
}, 60_000);

describe('1,000 jobs', () => {
  it('all complete with 3 returns each and no duplicate returns', async () => {
    const jids: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < JOBS) {
        next++;
        const created = await createJob(server, { fun: 'test.ping', tgt: '*', timeoutMs: 120_000 });
        expect(created.minions).toHaveLength(3);
        jids.push(created.jid);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    expect(new Set(jids).size).toBe(JOBS);
    const filter = encodeURIComponent('state=Eq("complete")');
    await waitFor(
      async () => {
        const response = await api(server).get(`/api/v1/tenants/acme/jobs?filter=${filter}`);
        return (response.body as { items: unknown[] }).items.length >= JOBS;
      },
      { timeoutMs: 90_000, intervalMs: 500, description: `${JOBS} jobs complete` },
    );
    const jobs = (await api(server).get('/api/v1/tenants/acme/jobs')).body as { items: { jid: string; state: string; minions: Record<string, { state: string; return: unknown }> }[] };
    expect(jobs.items).toHaveLength(JOBS);
    for (const job of jobs.items) {
      expect(job.state).toBe('complete');
      expect(Object.values(job.minions).map((m) => [m.state, m.return])).toEqual([['returned', true], ['returned', true], ['returned', true]]);
    }
    const returns = await history(server, 'acme', 'jobs.return.*');
    expect(returns).toHaveLength(JOBS * 3);
    const pairs = new Set(returns.map((e) => `${e.key} ${(e.data as { minion: string }).minion}`));
    expect(pairs.size).toBe(JOBS * 3);
    const completes = await history(server, 'acme', 'jobs.complete.*');
    expect(completes).toHaveLength(JOBS);
  }, 180_000);
});
