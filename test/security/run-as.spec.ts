// Issue 15 item 1, identity: managed processes and job commands never run as the server's
// user. A root minion runs them as the tenant's account (`tenants.<t>.user`/`group`, a
// watcher's own `user`/`group` winning), by default a uid of its own per tenant (so tenants
// cannot signal or read each other's processes), and never as root; the data
// directory (0700) with the signing secret, admin.token and the store is closed to them.
// Before, an acme admin's `cmd.run cat <dataDir>/admin.token` printed the `*:admin` token.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantDefaultUid } from '../../actors/index.js';
import { httpJson, listProcesses, makeTempDir, pidAlive, removeTempDirs, type ServerProcess } from '../support/index.js';
import { mintToken, postJob, startCorral, stopCorrals, waitJob, waitLogLine, waitMinion } from './support.js';

const isRoot = process.getuid?.() === 0;

type CmdReturn = { stdout: string; stderr: string; retcode: number };

async function cmdRun(server: ServerProcess, tenant: string, token: string, command: string): Promise<{ retcode: number; return: CmdReturn | string }> {
  const created = await postJob(server, tenant, token, { fun: 'cmd.run', args: [command] });
  if (created.status !== 201) throw new Error(`cmd.run: ${created.status} ${created.text}`);
  const returns = await waitJob(server, tenant, (created.body as { jid: string }).jid);
  const only = Object.values(returns)[0]!;
  return { retcode: only.retcode!, return: only.return as CmdReturn | string };
}

describe.skipIf(!isRoot)('as root, processes and jobs run under their own unprivileged accounts', () => {
  let server: ServerProcess;
  let adminToken: string;
  beforeAll(async () => {
    const dataDir = makeTempDir('corral-run-as-');
    server = await startCorral({
      dataDir,
      config: {
        tenants: {
          acme: {
            watchers: {
              whoami: { cmd: 'sh', args: ['-c', 'echo "uid=$(id -u) gid=$(id -g) home=$HOME"; sleep 300'] },
              // an acme admin's watcher trying the same as the job
              peek: { cmd: 'sh', args: ['-c', `cat ${dataDir}/admin.token 2>&1; echo "rc=$?"; sleep 300`] },
            },
          },
          beta: {
            user: 'daemon',
            watchers: {
              'tenant-account': { cmd: 'sh', args: ['-c', 'echo "uid=$(id -u)"; sleep 300'] },
              'own-account': { cmd: 'sh', args: ['-c', 'echo "uid=$(id -u)"; sleep 300'], user: 'bin' },
            },
          },
          gamma: { user: 'root' },
          delta: { watchers: { quiet: { cmd: 'sleep', args: ['4801'] } } },
        },
      },
    });
    await waitMinion(server, 'acme');
    adminToken = await mintToken(server, 'acme', 'admin');
  }, 90_000);
  afterAll(async () => {
    await stopCorrals();
    removeTempDirs();
  }, 60_000);

  it('keeps the data directory and its secrets private to the server', () => {
    expect(statSync(server.dataDir).mode & 0o777).toBe(0o700);
    for (const file of ['secret', 'admin.token']) expect(statSync(join(server.dataDir, file)).mode & 0o777, file).toBe(0o600);
  });

  it("refuses an acme admin's cmd.run the server's admin.token, secret and store", async () => {
    const token = await cmdRun(server, 'acme', adminToken, `cat ${server.dataDir}/admin.token`);
    expect(token.retcode).not.toBe(0);
    const result = token.return as CmdReturn;
    expect(result.stderr).toMatch(/Permission denied/);
    expect(result.stdout).toBe('');
    for (const path of ['secret', 'store']) {
      const other = await cmdRun(server, 'acme', adminToken, `ls -la ${server.dataDir}/${path}`);
      expect(other.retcode, path).not.toBe(0);
      expect((other.return as CmdReturn).stderr, path).toMatch(/Permission denied/);
    }
  });

  it("refuses an acme admin's watcher the admin.token too", async () => {
    const lines = await waitLogLine(server, 'acme', 'peek:0', /^rc=/);
    expect(lines.join('\n')).toMatch(/Permission denied/);
    expect(lines).toContain('rc=1');
    expect(lines.join('\n')).not.toContain('eyJ');
  });

  it("runs job commands as the tenant's own default uid, never as uid 0", async () => {
    const id = await cmdRun(server, 'acme', adminToken, 'id -u; id -g');
    expect(id.retcode).toBe(0);
    const [uid, gid] = (id.return as CmdReturn).stdout.trim().split('\n').map(Number);
    expect(uid).toBe(tenantDefaultUid('acme'));
    expect(gid).toBe(tenantDefaultUid('acme'));
  });

  it("keeps one tenant's jobs from another tenant's processes: different uids, and kill is refused", async () => {
    const [delta] = await listProcesses(server.url, server.token, 'delta', 'quiet');
    expect(delta?.pid).toBeGreaterThan(0);
    expect(statSync(`/proc/${delta!.pid}`).uid).toBe(tenantDefaultUid('delta'));
    expect(tenantDefaultUid('delta')).not.toBe(tenantDefaultUid('acme'));
    const kill = await cmdRun(server, 'acme', adminToken, `kill -9 ${delta!.pid}`);
    expect(kill.retcode).not.toBe(0);
    expect((kill.return as CmdReturn).stderr).toMatch(/Operation not permitted/);
    expect(pidAlive(delta!.pid)).toBe(true);
  });

  it("runs a watcher's processes with a non-zero uid, and its own HOME", async () => {
    const lines = await waitLogLine(server, 'acme', 'whoami:0', /^uid=/);
    const line = lines.find((l) => l.startsWith('uid='))!;
    expect(line).toBe(`uid=${tenantDefaultUid('acme')} gid=${tenantDefaultUid('acme')} home=/`);
  });

  it('uses the tenant account, and a watcher account where the watcher names one', async () => {
    expect((await waitLogLine(server, 'beta', 'tenant-account:0', /^uid=/)).find((l) => l.startsWith('uid='))).toBe('uid=1');
    expect((await waitLogLine(server, 'beta', 'own-account:0', /^uid=/)).find((l) => l.startsWith('uid='))).toBe('uid=2');
    const job = await cmdRun(server, 'beta', server.token, 'id -u');
    expect((job.return as CmdReturn).stdout).toBe('1\n');
  });

  it('refuses to run anything as root, saying why', async () => {
    const job = await cmdRun(server, 'gamma', server.token, 'id -u');
    expect(job.retcode).not.toBe(0);
    expect(job.return).toMatch(/refusing to run as user root \(uid 0\)/);
  });

  it("lets only an admin of every tenant choose a watcher's account through the API", async () => {
    const body = { name: 'mine', cmd: 'sleep', args: ['300'], numprocesses: 0, user: 'daemon' };
    const refused = await httpJson(`${server.url}/api/v1/tenants/acme/watchers`, { method: 'POST', token: adminToken, body });
    expect(refused.status, refused.text).toBe(403);
    expect((refused.body as { error: { message: string } }).error.message).toMatch(/user: choosing the OS account of a watcher needs admin on every tenant/);
    const patched = await httpJson(`${server.url}/api/v1/tenants/acme/watchers/whoami`, { method: 'PATCH', token: adminToken, body: { group: 'root' } });
    expect(patched.status, patched.text).toBe(403);
    const allowed = await httpJson(`${server.url}/api/v1/tenants/acme/watchers`, { method: 'POST', token: server.token, body });
    expect(allowed.status, allowed.text).toBe(201);
  });
});
