// Issue 15 item 3: one job's output must not stall the shared minion. A real server with its
// local minion serving two tenants: acme runs a `cmd.run` printing 1.1 MB, beta has a watcher
// printing a line every 100 ms on the same minion. The return comes back truncated (with the
// original size), beta's log keeps flowing, the minion stays on one connection; job args the
// minion would refuse are a 400 at creation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type ServerProcess } from '../support/index.js';
import { api, cleanupCorral, history, startCorral } from '../supervision/support.js';
import { waitJob, waitMinions } from './support.js';

const servers: ServerProcess[] = [];
let server: ServerProcess;
const config = {
  minion: { id: 'shared1' },
  tenants: {
    acme: { watchers: {} },
    beta: { watchers: { ticker: { cmd: 'sh', args: ['-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done'] } } },
  },
};

/** the last revision of beta's ticker log (-1: no line yet) */
async function tickerRevision(): Promise<number> {
  const response = await api(server).get('/api/v1/tenants/beta/processes/ticker:0/logs?from=-1');
  if (response.status !== 200) return -1;
  return (response.body as { lastRevision: number }).lastRevision;
}
const minionConnections = (): number => server.logs().split('\n').filter((line) => line.includes('"msg":"minion connected"')).length;

beforeAll(async () => {
  server = await startCorral({ config });
  servers.push(server);
  await waitMinions(server, ['shared1']);
  await waitFor(async () => (await tickerRevision()) >= 2, { timeoutMs: 30_000, description: "beta's ticker to log" });
}, 90_000);
afterAll(async () => {
  await cleanupCorral(servers);
}, 60_000);

describe('frame limits on a shared minion', () => {
  it("a 1.1 MB cmd.run returns truncated with its original size; the other tenant's log keeps flowing; the minion stays connected", async () => {
    const connectionsBefore = minionConnections();
    expect(connectionsBefore).toBeGreaterThanOrEqual(1);
    const response = await api(server).post('/api/v1/tenants/acme/jobs', {
      fun: 'cmd.run',
      args: ["head -c 1100000 /dev/zero | tr '\\0' a"],
      tgt: 'shared1',
      timeoutMs: 20_000,
    });
    expect(response.status, response.text).toBe(201);
    const { jid } = response.body as { jid: string };

    // while and after it runs, beta's ticker never goes a second without a stored line
    const started = Date.now();
    let last = await tickerRevision();
    let lastChange = Date.now();
    let worstGap = 0;
    let finished = false;
    while (Date.now() - started < 4000 || !finished) {
      if (Date.now() - started > 20_000) break;
      const revision = await tickerRevision();
      const now = Date.now();
      if (revision > last) {
        last = revision;
        lastChange = now;
      }
      worstGap = Math.max(worstGap, now - lastChange);
      if (!finished) {
        const job = await api(server).get(`/api/v1/tenants/acme/jobs/${jid}`);
        finished = ['complete', 'failed', 'timeout', 'cancelled'].includes((job.body as { state: string }).state);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(worstGap, "the longest time beta's log went without a new line").toBeLessThan(1000);

    const job = await waitJob(server, jid, 5000);
    expect(job.state).toBe('complete');
    const result = job.minions.shared1!;
    expect(result).toMatchObject({ state: 'returned', retcode: 0, success: true });
    const ret = result.return as { stdout: string; stderr: string; retcode: number; truncated: boolean; originalBytes: { stdout: number; stderr: number } };
    expect(ret.truncated).toBe(true);
    expect(ret.originalBytes).toEqual({ stdout: 1_100_000, stderr: 0 });
    expect(ret.stdout.startsWith('aaaa')).toBe(true);
    expect(ret.stdout.length).toBeLessThan(1024 * 1024);
    expect(ret.stdout).toMatch(/\[corral: output truncated at \d+ of 1100000 bytes\]$/);
    // one connection the whole time: no reconnect loop
    expect(minionConnections()).toBe(connectionsBefore);
    const connected = (await api(server).get('/api/v1/tenants/beta/minions/shared1')).body as { state: string };
    expect(connected.state).toBe('connected');
  }, 60_000);

  it('job args the minion would refuse are rejected at creation with 400 naming the limit; nothing is appended', async () => {
    const jobEvents = async (): Promise<number> => (await history(server, 'acme', 'jobs.*.*')).length;
    const before = await jobEvents();
    const tooMany = await api(server).post('/api/v1/tenants/acme/jobs', { fun: 'test.echo', args: Array.from({ length: 10_001 }, () => 'a'), tgt: '*' });
    expect(tooMany.status, tooMany.text).toBe(400);
    expect((tooMany.body as { error: { message: string } }).error.message).toMatch(/10001 args.*at most 10000/);
    // numbers take 9 bytes in a minion frame but 2 in JSON: within the body limit, over the frame limit
    const tooBig = await api(server).post('/api/v1/tenants/acme/jobs', { fun: 'test.echo', args: [Array.from({ length: 9000 }, () => Array.from({ length: 20 }, () => 0.5))], tgt: '*' });
    expect(tooBig.status, tooBig.text).toBe(400);
    expect((tooBig.body as { error: { message: string } }).error.message).toMatch(/minion frame limit of 1048576 bytes/);
    expect(await jobEvents()).toBe(before);
    const atLimit = await api(server).post('/api/v1/tenants/acme/jobs', { fun: 'test.echo', args: Array.from({ length: 10_000 }, () => 'a'), tgt: 'shared1' });
    expect(atLimit.status, atLimit.text).toBe(201);
    const job = await waitJob(server, (atLimit.body as { jid: string }).jid);
    expect(job.state).toBe('complete');
    expect((job.minions.shared1!.return as string[]).length).toBe(10_000);
  }, 60_000);

  it('a watcher spec the minion would refuse is a 400 naming the limit, and the shared minion keeps serving', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'many', cmd: 'true', args: Array.from({ length: 10_001 }, () => 'a') }, /args: at most 10000 arguments \(got 10001\)/],
      [{ name: 'longcmd', cmd: `/bin/${'x'.repeat(5000)}` }, /cmd: at most 4096 characters/],
      [{ name: 'bigenv', cmd: 'true', env: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`V${i}`, '1'])) }, /env: at most 1000 variables \(got 1001\)/],
      [{ name: 'longarg', cmd: 'true', args: ['y'.repeat(70_000)] }, /args\[0\]: at most 65536 characters/],
      // within the 1 MiB body limit as JSON (3 bytes of quotes and comma per arg), over the frame budget (5 per string)
      [{ name: 'huge', cmd: 'true', args: Array.from({ length: 10_000 }, () => 'z'.repeat(99)) }, /more than 1032192 bytes in a minion frame: over what the minion frame limit of 1048576 bytes leaves/],
    ];
    for (const [body, message] of cases) {
      const response = await api(server).post('/api/v1/tenants/beta/watchers', body);
      expect(response.status, `${String(body.name)}: ${response.text.slice(0, 200)}`).toBe(400);
      expect((response.body as { error: { message: string } }).error.message).toMatch(message);
    }
    const before = await tickerRevision();
    await waitFor(async () => (await tickerRevision()) >= before + 3, { timeoutMs: 3000, description: "beta's ticker still logging" });
    expect((await api(server).get('/api/v1/tenants/beta/minions/shared1')).body).toMatchObject({ state: 'connected' });
  }, 30_000);
});
