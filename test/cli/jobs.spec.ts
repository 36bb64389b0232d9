// `corral jobs list` and `corral jobs show`: the jobs `corral jobs run` created, read back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type ServerProcess } from '../support/index.js';
import { api, cleanupCorral, corral, startCorral } from './support.js';

let server: ServerProcess;
let jid: string;
beforeAll(async () => {
  server = await startCorral({ config: { tenants: { acme: { watchers: {} } } } });
  await waitFor(async () => ((await api(server).get('/api/v1/tenants/acme/minions')).body as { items: { state: string }[] }).items.some((m) => m.state === 'connected'), {
    timeoutMs: 30_000,
    description: 'the local minion connected',
  });
  const ran = await corral(server, ['jobs', 'run', '--tenant', 'acme', '--tgt', '*', 'test.echo', 'hello']);
  expect(ran.code, ran.stderr).toBe(0);
  jid = /^job (\d{20}):/.exec(ran.stdout)![1]!;
}, 60_000);
afterAll(() => cleanupCorral([server]), 60_000);

describe('corral jobs list, corral jobs show', () => {
  it('list prints a row per job, --json the job objects', async () => {
    const list = await corral(server, ['jobs', 'list', '--tenant', 'acme']);
    expect(list.code, list.stderr).toBe(0);
    const [header, row, ...more] = list.stdout.trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual(['JID', 'FUN', 'TARGET', 'STATE', 'RETURNED', 'STARTED', 'ENDED']);
    expect(row!.split(/\s+/).slice(0, 5)).toEqual([jid, 'test.echo', 'glob:*', 'complete', '1/1']);
    expect(more).toEqual([]);
    const json = JSON.parse((await corral(server, ['jobs', 'list', '--tenant', 'acme', '--json'])).stdout) as { jid: string; args: unknown[] }[];
    expect(json.map((job) => [job.jid, job.args])).toEqual([[jid, ['hello']]]);
  }, 60_000);

  it('show prints the job and each minion return; an unknown job is named (exit 1), a malformed id is a usage error', async () => {
    const show = await corral(server, ['jobs', 'show', '--tenant', 'acme', jid]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`job ${jid}: test.echo ["hello"] on glob "*"`);
    expect(show.stdout).toContain('state complete');
    expect(show.stdout).toMatch(/: ok retcode=0 .*\n {2}"hello"/);
    const unknown = await corral(server, ['jobs', 'show', '--tenant', 'acme', '20200101000000000000']);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([1, 'corral jobs: unknown job 20200101000000000000 in tenant acme']);
    expect((await corral(server, ['jobs', 'show', '--tenant', 'acme', 'nope'])).code).toBe(2);
  }, 60_000);
});
