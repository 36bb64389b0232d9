// `corral add` and `corral rm`: create a watcher from the command after `--` and wait until
// its processes run; destroy it and wait until they are gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../support/index.js';
import { cleanupCorral, corral, pidAlive, processes, startCorral } from './support.js';

let server: ServerProcess;
beforeAll(async () => {
  server = await startCorral({ config: { tenants: { acme: { watchers: {} } } } });
}, 60_000);
afterAll(() => cleanupCorral([server]), 60_000);

describe('corral add, corral rm', () => {
  it('add creates the watcher with its env and waits for its processes; rm removes them', async () => {
    const added = await corral(server, ['add', 'acme:greeter', '--numprocesses', '2', '--env', 'GREETING=hi there', '--', 'sh', '-c', 'echo "$GREETING"; exec sleep 331']);
    expect(added.code, added.stderr).toBe(0);
    const running = await processes(server, 'acme', 'greeter');
    expect(running.map((p) => p.state)).toEqual(['running', 'running']);
    expect(added.stdout.trimEnd().split('\n')).toEqual(running.map((p) => `${p.key}: new → pid ${p.pid}`));
    const logs = await corral(server, ['logs', 'acme:greeter']);
    expect(logs.stdout.trimEnd().split('\n').sort()).toEqual(['acme:greeter:0 | hi there', 'acme:greeter:1 | hi there']);

    const again = await corral(server, ['add', 'acme:greeter', '--', 'true']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('watcher "greeter" already exists in tenant acme');

    const removed = await corral(server, ['rm', 'acme:greeter']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout.trimEnd().split('\n')).toEqual(running.map((p) => `${p.key}: pid ${p.pid} → removed`));
    expect(running.some((p) => pidAlive(p.pid))).toBe(false);
    const gone = await corral(server, ['ps', 'acme:greeter']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('unknown watcher "greeter" in tenant acme (it has none)');
  }, 60_000);

  it('names an unknown tenant or watcher; without a command or with a bad --env it is a usage error', async () => {
    const tenant = await corral(server, ['add', 'zzz:w', '--', 'true']);
    expect([tenant.code, tenant.stderr.trim()]).toEqual([1, 'corral add: unknown tenant "zzz"']);
    const watcher = await corral(server, ['rm', 'acme:nope']);
    expect(watcher.code).toBe(1);
    expect(watcher.stderr).toContain('unknown watcher "nope" in tenant acme');
    expect((await corral(server, ['add', 'acme:w'])).code).toBe(2);
    const env = await corral(server, ['add', 'acme:w', '--env', 'NOEQUALS', '--', 'true']);
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('--env must be KEY=VALUE');
  }, 60_000);
});
