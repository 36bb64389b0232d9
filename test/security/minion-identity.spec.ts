// Issue 15 item 2: a minion's id is bound to the credential that first registered it (or to a
// minion token minted for that id, `corral token --minion ID`). A `corral minion` with another
// tenant's operate token and the id of the shared local minion is refused (close 4403) and
// displaces nothing: the local minion stays connected and every tenant's processes keep their
// pids. A minion displaced by a connection with its own credential (4409) keeps its processes
// running and only retries later (docs/security.md, "Minion identity").
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSecret, TokenService } from '../../gateway/index.js';
import { CORRAL_BIN, httpJson, pidAlive, removeTempDirs, runCorral, waitFor, type ServerProcess } from '../support/index.js';
import { cleanupCorral, startCorral, waitRunning } from '../ops-e2e/support.js';

const MINION_ID = 'shared-minion';
const config = {
  minion: { id: MINION_ID },
  tenants: {
    acme: { watchers: { web: { cmd: 'sleep', args: ['4301'], numprocesses: 2 } } },
    beta: { watchers: { api: { cmd: 'sleep', args: ['4302'], numprocesses: 2 } } },
  },
};

const minions: ChildProcess[] = [];
afterAll(async () => {
  for (const child of minions) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await Promise.all(minions.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
  await cleanupCorral();
  removeTempDirs();
}, 120_000);

/** A `corral minion` process of its own, with its output collected. */
function startMinion(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CORRAL_BIN, 'minion', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CORRAL_LOG_LEVEL: 'info' } });
  minions.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const localMinionPid = (dataDir: string): number => (JSON.parse(readFileSync(join(dataDir, 'minion.pid'), 'utf8')) as { pid: number }).pid;

async function minionView(server: ServerProcess, tenant: string): Promise<{ state: string; connectedAt: number | null }> {
  const response = await httpJson(`${server.url}/api/v1/tenants/${tenant}/minions/${MINION_ID}`, { token: server.token });
  if (response.status !== 200) throw new Error(`minion view: ${response.status} ${response.text}`);
  return response.body as { state: string; connectedAt: number | null };
}

/** Runs test.ping on the shared minion for `tenant`: it answers only while the local minion serves that tenant. */
async function pingSharedMinion(server: ServerProcess, tenant: string): Promise<boolean> {
  const created = await httpJson(`${server.url}/api/v1/tenants/${tenant}/jobs`, {
    method: 'POST',
    token: server.token,
    body: { fun: 'test.ping', args: [], tgt: MINION_ID, tgtType: 'glob', timeoutMs: 10_000 },
  });
  if (created.status !== 200 && created.status !== 201 && created.status !== 202) throw new Error(`job: ${created.status} ${created.text}`);
  const jid = (created.body as { jid: string }).jid;
  const job = await waitFor(
    async () => {
      const view = (await httpJson(`${server.url}/api/v1/tenants/${tenant}/jobs/${jid}`, { token: server.token })).body as { state: string; minions: Record<string, { state: string }> };
      return ['complete', 'failed', 'timeout'].includes(view.state) ? view : null;
    },
    { timeoutMs: 20_000, description: `test.ping ${jid} on ${tenant}` },
  );
  return job.state === 'complete' && job.minions[MINION_ID]?.state === 'returned';
}

describe('minion identity', () => {
  it('a rogue minion with another tenant’s token and the local minion’s id is refused; nothing of the other tenant stops', async () => {
    const server = await startCorral({ config });
    const acmeBefore = (await waitRunning(server.url, server.token, 'acme', 'web', 2)).map((p) => p.pid!);
    const betaBefore = (await waitRunning(server.url, server.token, 'beta', 'api', 2)).map((p) => p.pid!);
    const localPid = localMinionPid(server.dataDir);
    const connectedAt = (await minionView(server, 'beta')).connectedAt;

    const tokens = new TokenService({ secret: readSecret(server.dataDir) });
    const acmeOperate = (await tokens.issue({ subject: 'acme-ops', tenants: { acme: 'operate' }, ttlMs: 3_600_000 })).token;
    const rogue = startMinion(['--server', server.url, '--token', acmeOperate, '--id', MINION_ID, '--tenant', 'acme']);
    // either outcome shows up in the rogue's log: refused (the fix) or welcomed (the defect)
    const outcome = await waitFor(
      () => (/bound to another credential/.test(rogue.output()) ? 'refused' : /"msg":"minion connected"/.test(rogue.output()) ? 'connected' : null),
      { timeoutMs: 30_000, description: 'the rogue minion to be refused or welcomed' },
    );
    expect(outcome, rogue.output()).toBe('refused');
    expect(rogue.output()).toContain(`minion id ${MINION_ID} is bound to another credential`);

    // The local minion still serves both tenants: a job runs on it for each, after the refusal.
    expect(await pingSharedMinion(server, 'beta')).toBe(true);
    expect(await pingSharedMinion(server, 'acme')).toBe(true);
    expect(pidAlive(localPid)).toBe(true);
    expect((await minionView(server, 'beta')).state).toBe('connected');
    expect((await minionView(server, 'beta')).connectedAt).toBe(connectedAt);
    expect((await waitRunning(server.url, server.token, 'acme', 'web', 2)).map((p) => p.pid)).toEqual(acmeBefore);
    expect((await waitRunning(server.url, server.token, 'beta', 'api', 2)).map((p) => p.pid)).toEqual(betaBefore);
    for (const pid of [...acmeBefore, ...betaBefore]) expect(pidAlive(pid)).toBe(true);
    // the refused minion keeps running (it retries later) instead of exiting
    expect(rogue.child.exitCode).toBeNull();
    rogue.child.kill('SIGTERM');
    await rogue.exited;
  }, 180_000);

  it('a minion displaced by a connection with its own credential keeps its processes running', async () => {
    const server = await startCorral({ config });
    const before = [
      ...(await waitRunning(server.url, server.token, 'acme', 'web', 2)).map((p) => p.pid!),
      ...(await waitRunning(server.url, server.token, 'beta', 'api', 2)).map((p) => p.pid!),
    ];
    const localPid = localMinionPid(server.dataDir);
    const minionLog = (): string => readFileSync(join(server.dataDir, 'minion.log'), 'utf8');

    // the same credential the local minion uses (the admin token file): allowed to replace it
    const twin = startMinion(['--server', server.url, '--token-file', join(server.dataDir, 'admin.token'), '--id', MINION_ID]);
    await waitFor(() => /"msg":"minion connected"/.test(twin.output()), { timeoutMs: 30_000, description: 'the twin to be welcomed' });
    await waitFor(() => /replaced by a newer connection/.test(minionLog()), { timeoutMs: 30_000, description: 'the local minion to see its displacement' });
    // the displaced minion stays up with its processes; it does not give up
    expect(minionLog()).not.toMatch(/minion cannot continue/);
    expect(minionLog()).toMatch(/keeping the managed processes running/);
    expect(pidAlive(localPid)).toBe(true);
    for (const pid of before) expect(pidAlive(pid)).toBe(true);
    twin.child.kill('SIGTERM');
    expect(await twin.exited).toBe(0);
    expect(pidAlive(localPid)).toBe(true);
    for (const pid of before) expect(pidAlive(pid)).toBe(true);
  }, 180_000);

  it('a minion enrolled with a minion token keeps its id across a server restart; another credential is refused', async () => {
    const first = await startCorral({ config });
    const mint = async (args: string[]): Promise<string> => {
      const result = await runCorral(['token', '--data-dir', first.dataDir, '--ttl', '1h', ...args]);
      expect(result.code, result.stderr).toBe(0);
      return result.stdout.trim();
    };
    const edgeToken = await mint(['--tenant', 'acme', '--role', 'operate', '--minion', 'edge1']);
    const betaOperate = await mint(['--tenant', 'beta', '--role', 'operate', '--sub', 'beta-ops']);
    const badId = await runCorral(['token', '--data-dir', first.dataDir, '--minion', 'Edge 1']);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/--minion "Edge 1" is not a valid minion id/);

    // a minion token connects only as its own id
    const wrongId = startMinion(['--server', first.url, '--token', edgeToken, '--id', 'edge2']);
    expect(await wrongId.exited).toBe(2);
    expect(wrongId.output()).toMatch(/the token is a minion token for edge1, not for edge2/);

    const edge = startMinion(['--server-file', join(first.dataDir, 'server.json'), '--token', edgeToken, '--id', 'edge1']);
    await waitFor(() => /"msg":"minion connected"/.test(edge.output()), { timeoutMs: 30_000, description: 'edge1 to connect' });
    await first.stop();

    const second = await startCorral({ config, dataDir: first.dataDir });
    await waitFor(async () => (await httpJson(`${second.url}/api/v1/tenants/acme/minions/edge1`, { token: second.token })).body?.state === 'connected', {
      timeoutMs: 30_000,
      description: 'edge1 back on the restarted server',
    });
    const rogue = startMinion(['--server', second.url, '--token', betaOperate, '--id', 'edge1', '--tenant', 'beta']);
    await waitFor(() => /bound to another credential/.test(rogue.output()) || /"msg":"minion connected"/.test(rogue.output()), { timeoutMs: 30_000, description: 'the rogue refused or welcomed' });
    expect(rogue.output()).toMatch(/minion id edge1 is bound to another credential/);
    expect((await httpJson(`${second.url}/api/v1/tenants/acme/minions/edge1`, { token: second.token })).body?.state).toBe('connected');
    rogue.child.kill('SIGTERM');
    edge.child.kill('SIGTERM');
    expect(await edge.exited).toBe(0);
  }, 180_000);
});
