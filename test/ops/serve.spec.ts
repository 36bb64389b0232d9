import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../ops/cli.js';
import { httpJson, makeTempDir, removeTempDirs, runCorral, startServerProcess, waitFor } from '../support/index.js';

afterAll(removeTempDirs);

describe('corral serve', () => {
  it('creates the secret and admin.token with mode 0600 and keeps the secret across restarts', async () => {
    const first = await startServerProcess();
    const secretPath = join(first.dataDir, 'secret');
    const secret = readFileSync(secretPath, 'utf8');
    expect(statSync(secretPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(first.dataDir, 'admin.token')).mode & 0o777).toBe(0o600);
    // stdout is a pipe, not a terminal: the log says where the token is, not what it is
    // (test/security/admin-token-in-logs.spec.ts); the output reaches us through a pipe: wait for it
    await waitFor(() => first.logs().includes(join(first.dataDir, 'admin.token')), { description: 'the token file in the log' });
    expect(first.logs()).not.toContain(first.token);
    const oldToken = first.token;
    expect((await first.stop()).code).toBe(0);

    const second = await startServerProcess({ dataDir: first.dataDir });
    try {
      expect(readFileSync(secretPath, 'utf8')).toBe(secret);
      expect(second.logs()).not.toContain('created the signing secret');
      // tokens signed before the restart still verify
      expect((await httpJson(`${second.url}/api/v1/info`, { token: oldToken })).status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  it('stops gracefully on SIGTERM and SIGINT: exit 0, server.json removed', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const server = await startServerProcess();
      const serverFile = join(server.dataDir, 'server.json');
      expect(JSON.parse(readFileSync(serverFile, 'utf8'))).toEqual(expect.objectContaining({ pid: server.pid, port: server.port, url: server.url }));
      server.child.kill(signal);
      const exit = await server.exited;
      expect(exit, server.logs()).toEqual({ code: 0, signal: null });
      expect(existsSync(serverFile)).toBe(false);
      expect(server.logs()).toContain('stopped');
    }
  });

  it('keeps server.json after a crash (SIGKILL) so the next start still finds the data directory', async () => {
    const server = await startServerProcess();
    await server.kill();
    expect(existsSync(join(server.dataDir, 'server.json'))).toBe(true);
    const again = await startServerProcess({ dataDir: server.dataDir });
    expect(again.port).not.toBe(0);
    await again.stop();
  });

  it('with auth: none, binds to loopback only and needs no token', async () => {
    const refused = await runCorral(['serve', '--port', '0', '--data-dir', makeTempDir(), '--host', '0.0.0.0', '--no-local-minion', '--config', writeConfig('auth: none\n')]);
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toContain('auth: none requires a loopback host');

    const server = await startServerProcess({ config: { auth: 'none' } });
    try {
      const info = await httpJson(`${server.url}/api/v1/info`);
      expect(info.status).toBe(200);
      expect(info.body).toMatchObject({ auth: 'none', principal: { subject: 'local', tenants: { '*': 'admin' } } });
    } finally {
      await server.stop();
    }
  });

  it('starts on the demo configuration of `npm start`', async () => {
    const server = await startServerProcess({ args: ['--config', 'ops/demo/corral.yaml'] });
    try {
      await waitFor(() => server.logs().includes('ops/demo/corral.yaml'), { description: 'the config path in the log' });
      expect((await httpJson(`${server.url}/health/ready`)).status).toBe(200);
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });

  it('reports bad flags with exit 2 and a bad config file naming the field with exit 1', async () => {
    const unknown = await runCorral(['serve', '--prot', '1']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--prot'");
    expect(unknown.stderr).toContain('usage: corral serve');
    const badPort = await runCorral(['serve', '--port', 'eighty']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('--port must be an integer from 0 to 65535');
    const badStore = await runCorral(['serve', '--store', 'mysql']);
    expect(badStore.code).toBe(2);
    const config = writeConfig('tenants:\n  acme:\n    watchers:\n      web: { cmd: node, numprocesses: -2 }\n');
    const badConfig = await runCorral(['serve', '--config', config, '--data-dir', makeTempDir()]);
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toContain('tenants.acme.watchers.web.numprocesses: must be an integer >= 0');
    const viaEnv = await runCorral(['serve', '--data-dir', makeTempDir()], { env: { CORRAL_CONFIG: config } });
    expect(viaEnv.code).toBe(1);
    expect(viaEnv.stderr).toContain('numprocesses');
  });
});

describe('corral token and hash-password', () => {
  it('token refuses to run without a secret and validates its flags', async () => {
    const empty = await runCorral(['token', '--data-dir', makeTempDir()]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no secret at .*start `corral serve/);
    const badRole = await runCorral(['token', '--role', 'root']);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('--role must be one of read, operate, admin');
    const badTtl = await runCorral(['token', '--ttl', 'forever']);
    expect(badTtl.code).toBe(2);
  });

  it('hash-password needs exactly one argument; --help lists only working commands', async () => {
    expect((await runCorral(['hash-password'])).code).toBe(2);
    const help = await runCorral(['--help']);
    expect(help.code).toBe(0);
    const listed = help.stdout.split('\n').filter((line) => /^ {2}\S+ {2,}/.test(line)).map((line) => line.trim().split(/\s+/)[0]);
    // exactly the command table (others add commands there once they work)
    expect(listed).toEqual(Object.keys(COMMANDS));
    expect(listed).toEqual(expect.arrayContaining(['serve', 'token', 'hash-password']));
    expect((await runCorral(['frobnicate'])).code).toBe(2);
  });
});

function writeConfig(text: string): string {
  const file = join(makeTempDir('corral-config-'), 'corral.yaml');
  writeFileSync(file, text);
  return file;
}
