// Issue 14 item 11: bad local files get a clear error, and what a crash leaves behind is
// cleaned up. A truncated or garbage `server.json` is a one-line error naming the file (not
// a raw SyntaxError); an empty configuration file is refused (not a default server on 8080
// in the working directory); the `nodes/<pid>.*` entries of killed servers are removed when
// a server starts and when the entries are listed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { httpJson, makeTempDir, pidAlive, removeTempDirs, runCorral, startServerProcess, type ServerProcess } from '../support/index.js';

const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
  removeTempDirs();
}, 60_000);

/** A pid no process has now (a child that already exited). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(child.stdout);
  expect(pidAlive(pid)).toBe(false);
  return pid;
}

describe('a bad server.json', () => {
  for (const [what, content] of [
    ['truncated', '{"url":"http://127.0.0.1:8'],
    ['garbage', '\u0000\u0001 not json at all'],
    ['empty', ''],
    ['without a url', '{"pid": 12}'],
  ] as const) {
    it(`${what}: corral events exits 1 with one line naming the file`, async () => {
      const dataDir = makeTempDir('corral-bad-server-json-');
      writeFileSync(join(dataDir, 'server.json'), content);
      writeFileSync(join(dataDir, 'admin.token'), 'x.y.z\n');
      const result = await runCorral(['events', '--data-dir', dataDir]);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).not.toMatch(/SyntaxError|\n\s+at /);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(join(dataDir, 'server.json'));
      expect(result.stderr).toMatch(/^corral events: /);
    });
  }
});

describe('an empty configuration file', () => {
  for (const [what, content] of [
    ['empty', ''],
    ['only whitespace', '\n   \n'],
    ['only comments', '# nothing here yet\n# tenants:\n'],
  ] as const) {
    it(`${what}: corral serve refuses it, naming the file, and creates nothing`, async () => {
      const cwd = makeTempDir('corral-empty-config-');
      const file = join(cwd, 'corral.yaml');
      writeFileSync(file, content);
      const result = await runCorral(['serve', '--config', file, '--port', '0', '--no-local-minion'], { cwd, timeoutMs: 20_000 });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`${file}: the configuration file is empty`);
      expect(existsSync(join(cwd, '.corral'))).toBe(false);
    }, 30_000);
  }
});

describe('nodes/<pid>.* of killed servers', () => {
  it('are removed when a server starts on the data directory, and when the entries are listed', async () => {
    const first = await startServerProcess();
    servers.push(first);
    const nodes = join(first.dataDir, 'nodes');
    expect(readdirSync(nodes).sort()).toEqual([`${first.pid}.json`, `${first.pid}.sock`]);
    await first.kill();

    const second = await startServerProcess({ dataDir: first.dataDir });
    servers.push(second);
    expect(readdirSync(nodes).sort()).toEqual([`${second.pid}.json`, `${second.pid}.sock`]);

    // what a server killed while writing its entry leaves (a half-written record, its temp file)
    const dead = deadPid();
    writeFileSync(join(nodes, `${dead}.json`), '{"pid":');
    writeFileSync(join(nodes, `${dead}.json.tmp`), '{');
    writeFileSync(join(nodes, `${dead}.sock`), '');
    // listing the servers of the data directory (the first step of a rolling restart; this
    // one is then refused, the server having an ephemeral port)
    const listed = await runCorral(['ctl', '--data-dir', second.dataDir, 'restart', '--rolling']);
    expect(listed.stderr).toContain('started with port 0');
    expect(readdirSync(nodes).sort()).toEqual([`${second.pid}.json`, `${second.pid}.sock`]);
    // the live server's entry stays, and it still serves
    expect((await httpJson(`${second.url}/health/ready`)).status).toBe(200);
  }, 90_000);
});
