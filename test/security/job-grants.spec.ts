// Issue 15 item 1, the grant: job functions that run shell commands (`cmd.run`) need the
// `admin` role on the tenant unless the configuration grants them to `operate` explicitly
// (`tenants.<t>.jobs.allow.operate`), in the manner of Salt's publisher_acl. Before, an acme
// `operate` token ran `cat <dataDir>/admin.token` and got the `*:admin` token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, runCorral, makeTempDir, type ServerProcess } from '../support/index.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mintToken, postJob, startCorral, stopCorrals, waitJob, waitMinion } from './support.js';

let server: ServerProcess;
beforeAll(async () => {
  server = await startCorral({
    config: {
      tenants: {
        acme: { watchers: {} },
        // beta's operator granted cmd.run to its operate role
        beta: { jobs: { allow: { operate: ['cmd.run'] } } },
      },
    },
  });
  await waitMinion(server, 'acme');
}, 90_000);
afterAll(async () => {
  await stopCorrals();
  removeTempDirs();
}, 60_000);

describe('shell-capable job functions need an explicit grant', () => {
  it('refuses cmd.run to an acme operate token with 403, naming the function and the grant', async () => {
    const operate = await mintToken(server, 'acme', 'operate');
    const response = await postJob(server, 'acme', operate, { fun: 'cmd.run', args: [`cat ${server.dataDir}/admin.token`] });
    expect(response.status, response.text).toBe(403);
    const message = (response.body as { error: { message: string } }).error.message;
    expect(message).toContain('cmd.run');
    expect(message).toContain('admin');
    expect(message).toContain('tenants.acme.jobs.allow.operate');
    expect(response.text).not.toContain('eyJ');
  });

  it('still lets operate run the functions that run no commands', async () => {
    const operate = await mintToken(server, 'acme', 'operate');
    for (const fun of ['test.ping', 'test.echo', 'grains.items', 'proc.list']) {
      const response = await postJob(server, 'acme', operate, { fun, args: fun === 'test.echo' ? ['hi'] : [] });
      expect(response.status, `${fun}: ${response.text}`).toBe(201);
    }
    const created = await postJob(server, 'acme', operate, { fun: 'test.ping' });
    const returns = await waitJob(server, 'acme', (created.body as { jid: string }).jid);
    expect(Object.values(returns).every((r) => r.return === true)).toBe(true);
  });

  it('lets an acme admin run cmd.run', async () => {
    const admin = await mintToken(server, 'acme', 'admin');
    const created = await postJob(server, 'acme', admin, { fun: 'cmd.run', args: ['echo granted'] });
    expect(created.status, created.text).toBe(201);
    const returns = await waitJob(server, 'acme', (created.body as { jid: string }).jid);
    expect(Object.values(returns)[0]).toMatchObject({ retcode: 0 });
  });

  it('lets operate run cmd.run where the tenant grants it, and only there', async () => {
    const betaOperate = await mintToken(server, 'beta', 'operate');
    const created = await postJob(server, 'beta', betaOperate, { fun: 'cmd.run', args: ['echo granted'] });
    expect(created.status, created.text).toBe(201);
    const returns = await waitJob(server, 'beta', (created.body as { jid: string }).jid);
    expect((Object.values(returns)[0]!.return as { stdout: string }).stdout).toBe('granted\n');
    // the grant is beta's: an acme operate token is still refused
    const acmeOperate = await mintToken(server, 'acme', 'operate');
    expect((await postJob(server, 'acme', acmeOperate, { fun: 'cmd.run', args: ['true'] })).status).toBe(403);
  });

  it('refuses unknown functions to operate too (admin-only unless granted)', async () => {
    const operate = await mintToken(server, 'acme', 'operate');
    const response = await postJob(server, 'acme', operate, { fun: 'plugin.anything', args: [] });
    expect(response.status, response.text).toBe(403);
  });

  it('rejects a malformed grant in the configuration, naming the field', async () => {
    const dir = makeTempDir('corral-grant-config-');
    const file = join(dir, 'corral.yaml');
    writeFileSync(file, 'tenants:\n  acme:\n    jobs:\n      allow:\n        operate: ["not a function"]\n');
    const result = await runCorral(['serve', '--config', file, '--port', '0', '--no-local-minion', '--data-dir', join(dir, 'data')], { timeoutMs: 20_000 });
    expect(result.code).toBe(1);
    expect(result.stderr + result.stdout).toContain('tenants.acme.jobs.allow.operate[0]');
  });
});
