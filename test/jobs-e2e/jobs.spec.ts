// Issue 5 must-shows: jobs on the local minion plus two remote `corral minion` processes,
// through a real server: returns, grain targets, timeouts, cancel, a minion killed during a
// job, a server crash during a job, `corral jobs run`, bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCorral, waitFor, type ServerProcess } from '../support/index.js';
import { api, cleanupCorral, history, pidsRunning, startCorral } from '../supervision/support.js';
import { createJob, startRemoteMinion, stopRemoteMinions, waitJob, waitMinions, type RemoteMinion } from './support.js';

const servers: ServerProcess[] = [];
let server: ServerProcess;
let remote2: RemoteMinion;
const config = { minion: { id: 'local1', grains: { role: 'control', zone: 'b' } }, tenants: { acme: { watchers: {} } } };

beforeAll(async () => {
  server = await startCorral({ config });
  servers.push(server);
  startRemoteMinion(server, 'remote1', { role: 'web', zone: 'a' });
  remote2 = startRemoteMinion(server, 'remote2', { role: 'db', zone: 'a' });
  await waitMinions(server, ['local1', 'remote1', 'remote2']);
}, 90_000);
afterAll(async () => {
  await stopRemoteMinions();
  await cleanupCorral(servers);
}, 60_000);

describe('jobs on three real minions', () => {
  it("cmd.run 'echo hi' to * returns three times with retcode 0 and stdout hi", async () => {
    const created = await createJob(server, { fun: 'cmd.run', args: ['echo hi'], tgt: '*' });
    expect(created.minions.sort()).toEqual(['local1', 'remote1', 'remote2']);
    const job = await waitJob(server, created.jid);
    expect(job.state).toBe('complete');
    expect(Object.keys(job.minions).sort()).toEqual(['local1', 'remote1', 'remote2']);
    for (const result of Object.values(job.minions)) {
      expect(result).toMatchObject({ state: 'returned', retcode: 0, success: true });
      expect((result.return as { stdout: string }).stdout).toBe('hi\n');
    }
  }, 30_000);

  it('a grain target picks exactly the matching minions', async () => {
    const cases: [string, string[]][] = [
      ['role:web', ['remote1']],
      ['zone:a', ['remote1', 'remote2']],
      ['role:control', ['local1']],
      ['role:d*', ['remote2']],
      ['role:nothing', []],
    ];
    for (const [tgt, expected] of cases) {
      const created = await createJob(server, { fun: 'test.ping', tgt, tgtType: 'grain' });
      expect(created.minions.sort(), tgt).toEqual(expected);
      const job = await waitJob(server, created.jid);
      expect(Object.keys(job.minions).sort(), tgt).toEqual(expected);
      expect(job.state).toBe('complete');
    }
    const list = await createJob(server, { fun: 'test.ping', tgt: 'local1,remote2', tgtType: 'list' });
    expect(list.minions.sort()).toEqual(['local1', 'remote2']);
  }, 30_000);

  it('test.sleep 5 with timeoutMs 1000 ends timeout', async () => {
    const created = await createJob(server, { fun: 'test.sleep', args: [5], tgt: '*', timeoutMs: 1000 });
    const started = Date.now();
    const job = await waitJob(server, created.jid);
    expect(job.state).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(4500);
    for (const result of Object.values(job.minions)) expect(result.state).toBe('timeout');
  }, 30_000);

  it('cancel stops a running job on the minions (a cmd.run sleep is killed)', async () => {
    const created = await createJob(server, { fun: 'cmd.run', args: ['sleep 37'], tgt: '*', timeoutMs: 60_000 });
    const sleeping = (): number => pidsRunning(['sleep', '37']).length + pidsRunning(['/bin/sh', '-c', 'sleep 37']).length;
    await waitFor(() => pidsRunning(['sleep', '37']).length === 3 || sleeping() >= 3, { timeoutMs: 15_000, description: 'three sleeps running' });
    const response = await api(server).post(`/api/v1/tenants/acme/jobs/${created.jid}/cancel`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ state: 'cancelled', cancelled: true });
    const job = await waitJob(server, created.jid);
    expect(job.state).toBe('cancelled');
    await waitFor(() => sleeping() === 0, { timeoutMs: 15_000, description: 'the cancelled sleeps to be gone' });
    // cancelling again changes nothing
    const again = await api(server).post(`/api/v1/tenants/acme/jobs/${created.jid}/cancel`);
    expect(again.body).toMatchObject({ state: 'cancelled', cancelled: false, positions: [] });
  }, 40_000);

  it('corral jobs run prints a line per minion and a summary, and exits non-zero on failure', async () => {
    const ok = await runCorral(['jobs', 'run', '--data-dir', server.dataDir, '--tenant', 'acme', '--tgt', '*', 'cmd.run', 'echo hi']);
    expect(ok.code, ok.stderr).toBe(0);
    for (const id of ['local1', 'remote1', 'remote2']) expect(ok.stdout).toMatch(new RegExp(`${id}: ok retcode=0 .*\\n  hi`));
    expect(ok.stdout).toMatch(/complete: 3 succeeded, 0 failed, 0 timed out/);
    const failed = await runCorral(['jobs', 'run', '--data-dir', server.dataDir, '--tgt', 'remote1', '--tgt-type', 'list', 'cmd.run', 'exit 3']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/remote1: FAILED retcode=3/);
    const usage = await runCorral(['jobs', 'run', '--data-dir', server.dataDir, 'test.ping']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--tgt');
  }, 60_000);

  it('bad input: empty or malformed targets, unknown target types, huge args, unknown jids -> clear errors, nothing appended', async () => {
    // job events of the tenant (the global head also moves with lease and component heartbeats)
    const jobEvents = async (): Promise<number> => (await history(server, 'acme', 'jobs.*.*')).length;
    const before = await jobEvents();
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ fun: 'test.ping', tgt: '' }, 400, /tgt|target/i],
      [{ fun: 'test.ping', tgt: 'web[' }, 400, /tgt|target|glob|\[/i],
      [{ fun: 'test.ping', tgt: 'role', tgtType: 'grain' }, 400, /grain|key:value|:/i],
      [{ fun: 'test.ping', tgt: '*', tgtType: 'regex' }, 400, /regex|tgtType|target type/i],
      [{ fun: 'test.ping' }, 400, /tgt|target/i],
      [{ fun: 'nope', tgt: '*' }, 400, /function/],
      [{ fun: 'test.ping', tgt: '*', timeoutMs: -1 }, 400, /timeoutMs/],
      [{ fun: 'test.ping', tgt: '*', args: 'x' }, 400, /args/],
      [{ fun: 'test.ping', tgt: '*', bogus: 1 }, 400, /bogus/],
      [{ fun: 'test.echo', tgt: '*', args: ['x'.repeat(1024 * 1024 + 10)] }, 413, /1 MiB|1048576|too large|limit/i],
    ];
    for (const [body, status, message] of cases) {
      const response = await api(server).post('/api/v1/tenants/acme/jobs', body);
      expect(response.status, `${JSON.stringify(body).slice(0, 80)}: ${response.text.slice(0, 200)}`).toBe(status);
      expect((response.body as { error: { message: string } }).error.message).toMatch(message);
    }
    expect((await api(server).post('/api/v1/tenants/acme/jobs/20200101000000000000/cancel')).status).toBe(404);
    const noTenant = await api(server).post('/api/v1/tenants/ghost/jobs', { fun: 'test.ping', tgt: '*' });
    expect(noTenant.status).toBe(404);
    expect((noTenant.body as { error: { message: string } }).error.message).toMatch(/tenant ghost does not exist/);
    expect((await api(server).post('/api/v1/tenants/acme/jobs/not-a-jid/cancel')).status).toBe(400);
    expect((await api(server).get('/api/v1/tenants/acme/jobs/20200101000000000000')).status).toBe(404);
    expect(await jobEvents()).toBe(before);
  }, 30_000);

  it('a minion killed during a job: the job still ends, timeout for that minion', async () => {
    const created = await createJob(server, { fun: 'test.sleep', args: [2], tgt: '*', timeoutMs: 6000 });
    expect(created.minions).toContain('remote2');
    await remote2.kill('SIGKILL');
    const job = await waitJob(server, created.jid);
    expect(job.state).toBe('timeout');
    expect(job.minions.remote2!.state).toBe('timeout');
    expect(job.minions.local1).toMatchObject({ state: 'returned', success: true });
    expect(job.minions.remote1).toMatchObject({ state: 'returned', success: true });
  }, 30_000);

  it('a server crash during a job: the job completes after the restart, every return recorded once', async () => {
    await waitMinions(server, ['local1', 'remote1']);
    const created = await createJob(server, { fun: 'test.sleep', args: [4], tgt: '*', timeoutMs: 60_000 });
    expect(created.minions.sort()).toEqual(['local1', 'remote1']);
    await server.kill();
    server = await startCorral({ config, dataDir: server.dataDir });
    servers.push(server);
    const job = await waitJob(server, created.jid, 60_000);
    expect(job.state).toBe('complete');
    for (const id of ['local1', 'remote1']) expect(job.minions[id]).toMatchObject({ state: 'returned', success: true, retcode: 0 });
    const returns = (await history(server, 'acme', `jobs.return.acme:${created.jid}`)).map((e) => (e.data as { minion: string }).minion).sort();
    expect(returns).toEqual(['local1', 'remote1']);
  }, 120_000);
});
