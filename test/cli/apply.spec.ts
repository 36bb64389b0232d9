// `corral apply -f FILE`: the diff against the server, then (with --yes) each tenant's section
// through POST .../reconfigure, waiting until the processes view shows it.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORRAL_BIN, makeTempDir, removeTempDirs, type ServerProcess } from '../support/index.js';
import { api, cleanupCorral, corral, processes, startCorral, waitRunning } from './support.js';

/** The server's own configuration file: what a start applies when its section changed (docs/operations.md). */
const SERVER_CONFIG = { tenants: { acme: { watchers: { web: { cmd: 'sleep', args: ['351'], numprocesses: 1 }, old: { cmd: 'sleep', args: ['352'] } } } } };

let server: ServerProcess;
const servers: ServerProcess[] = [];
let dir: string;
beforeAll(async () => {
  server = await startCorral({ config: SERVER_CONFIG });
  servers.push(server);
  await waitRunning(server, 'acme', 'web', 1);
  await waitRunning(server, 'acme', 'old', 1);
  dir = makeTempDir('corral-apply-');
}, 60_000);
afterAll(async () => {
  await cleanupCorral(servers);
  removeTempDirs();
}, 60_000);

const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const DECLARED = `tenants:
  acme:
    watchers:
      web: { cmd: sleep, args: ["351"], numprocesses: 2 }
      worker: { cmd: sleep, args: ["353"] }
  beta:
    watchers:
      api: { cmd: sleep, args: ["354"] }
`;

/** The tenant's and its watchers' events (what a reconfigure appends; process events come and go on their own). */
const configEvents = async (): Promise<string[]> =>
  ((await api(server).get('/api/v1/tenants/acme/events?limit=10000')).body as { events: { type: string; action: string; key: string }[] }).events
    .filter((e) => e.type === 'tenants' || e.type === 'watchers')
    .map((e) => `${e.type}.${e.action}.${e.key}`);

/** Each slot's key, state and pid (the stats fields move on their own). */
const slots = async (watcher: string): Promise<string[]> => (await processes(server, 'acme', watcher)).map((p) => `${p.key} ${p.state} ${p.pid}`);

describe('corral apply', () => {
  it('without a TTY and without --yes it exits 1 saying to pass --yes; --dry-run prints the diff and changes nothing', async () => {
    const path = file('declared.yaml', DECLARED);
    const before = await slots('web');
    const eventsBefore = await configEvents();
    const asked = await corral(server, ['apply', '-f', path]);
    expect(asked.code).toBe(1);
    expect(asked.stderr).toContain('pass --yes');
    expect(asked.stdout).toContain('~ acme:web: numprocesses 1 → 2');

    const dry = await corral(server, ['apply', '--dry-run', '-f', path]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('dry run: nothing changed');
    expect(await slots('web')).toEqual(before);
    expect(await slots('worker')).toEqual([]);
    expect(await configEvents()).toEqual(eventsBefore);
    expect((await api(server).get('/api/v1/tenants/beta')).status).toBe(404);
  }, 60_000);

  // util-linux `script` gives the command a terminal, as a user at a shell has
  it.skipIf(!existsSync('/usr/bin/script'))('on a terminal it asks: "n" changes nothing, "y" applies', async () => {
    const path = file('asked.yaml', 'tenants:\n  gamma:\n    watchers:\n      one: { cmd: sleep, args: ["355"] }\n');
    const onTerminal = (answer: string) =>
      spawnSync('script', ['-qec', `"${process.execPath}" "${CORRAL_BIN}" apply --data-dir "${server.dataDir}" -f "${path}"`, '/dev/null'], { input: answer, encoding: 'utf8', timeout: 60_000 });
    const no = onTerminal('n\n');
    expect(no.status, no.stdout + no.stderr).toBe(0);
    expect(no.stdout).toContain('+ gamma:one');
    expect(no.stdout).toContain('apply these changes? [y/N]');
    expect(no.stdout).toContain('not applied: nothing changed');
    expect((await api(server).get('/api/v1/tenants/gamma')).status).toBe(404);
    const yes = onTerminal('y\n');
    expect(yes.status, yes.stdout + yes.stderr).toBe(0);
    expect(yes.stdout).toMatch(/gamma:one:0: new → pid \d+/);
  }, 90_000);

  it('prints the diff (add, change with old → new, remove, a new tenant) and converges; the same file again is "no changes"', async () => {
    const path = file('declared.yaml', DECLARED);
    const applied = await corral(server, ['apply', '--yes', '-f', path]);
    expect(applied.code, applied.stderr).toBe(0);
    const lines = applied.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 7)).toEqual([
      'tenant acme:',
      '  + acme:worker (numprocesses 1: sleep 353)',
      '  ~ acme:web: numprocesses 1 → 2',
      '  - acme:old',
      'tenant beta (new tenant):',
      '  + beta:api (numprocesses 1: sleep 354)',
      lines[6],
    ]);
    const web = await processes(server, 'acme', 'web');
    expect(web.map((p) => p.state)).toEqual(['running', 'running']);
    const worker = await processes(server, 'acme', 'worker');
    expect(worker.map((p) => p.state)).toEqual(['running']);
    expect(await processes(server, 'acme', 'old')).toEqual([]);
    expect((await processes(server, 'beta', 'api')).map((p) => p.state)).toEqual(['running']);
    // the per-slot changes, as the other process commands print them
    expect(applied.stdout).toContain(`acme:web:1: new → pid ${web[1]!.pid}`);
    expect(applied.stdout).toContain(`acme:worker:0: new → pid ${worker[0]!.pid}`);
    expect(applied.stdout).toMatch(/acme:old:0: pid \d+ → removed/);

    const events = await configEvents();
    expect(events).toContain('tenants.reconfigure.acme');
    const again = await corral(server, ['apply', '--yes', '-f', path]);
    expect([again.code, again.stdout]).toEqual([0, 'no changes\n']);
    expect(await slots('web')).toEqual(web.map((p) => `${p.key} ${p.state} ${p.pid}`));
    expect(await configEvents()).toEqual(events);
  }, 90_000);

  it('a bad field is exit 1 naming the field (the config parser); a server section is refused', async () => {
    const bad = await corral(server, ['apply', '--yes', '-f', file('bad.yaml', 'tenants:\n  acme:\n    watchers:\n      web: { cmd: sleep, numprocesses: many }\n')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('tenants.acme.watchers.web.numprocesses');
    const unknown = await corral(server, ['apply', '--yes', '-f', file('typo.yaml', 'tenants:\n  acme:\n    watchers:\n      web: { cmd: sleep, numprocess: 2 }\n')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('tenants.acme.watchers.web.numprocess');
    const serverSection = await corral(server, ['apply', '--yes', '-f', file('server.yaml', 'server: { port: 1 }\ntenants: {}\n')]);
    expect(serverSection.code).toBe(1);
    expect(serverSection.stderr).toContain('server: apply takes only tenants');
    expect((await corral(server, ['apply', '--yes'])).code).toBe(2);
  }, 60_000);

  it('agrees with how a start treats the server\'s file: kept while its section is unchanged, overridden once it changed', async () => {
    const watchers = async (tenant: string): Promise<string[]> =>
      ((await api(server).get(`/api/v1/tenants/${tenant}/watchers`)).body as { items: { name: string; numprocesses: number }[] }).items.map((w) => `${w.name} ${w.numprocesses}`).sort();
    expect(await watchers('acme')).toEqual(['web 2', 'worker 1']);
    const { dataDir } = server;
    await server.stop();
    server = await startCorral({ config: SERVER_CONFIG, dataDir });
    servers.push(server);
    await waitRunning(server, 'acme', 'web', 2);
    expect(await watchers('acme')).toEqual(['web 2', 'worker 1']);
    expect(await watchers('beta')).toEqual(['api 1']);
    expect((await corral(server, ['apply', '--dry-run', '-f', join(dir, 'declared.yaml')])).stdout).toBe('no changes\n');

    await server.stop();
    const edited = { tenants: { acme: { watchers: { ...SERVER_CONFIG.tenants.acme.watchers, web: { cmd: 'sleep', args: ['351'], numprocesses: 3 } } } } };
    server = await startCorral({ config: edited, dataDir });
    servers.push(server);
    await waitRunning(server, 'acme', 'web', 3);
    expect(await watchers('acme')).toEqual(['old 1', 'web 3']);
    expect(await watchers('beta')).toEqual(['api 1']);
  }, 120_000);

  it('a tenant destroyed through the API is a new tenant again', async () => {
    expect((await api(server).send('DELETE', '/api/v1/tenants/beta')).status).toBe(200);
    const applied = await corral(server, ['apply', '--yes', '-f', join(dir, 'declared.yaml')]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('tenant beta (new tenant):\n  + beta:api (numprocesses 1: sleep 354)\n');
    expect(applied.stdout).toMatch(/beta:api:0: new → pid \d+/);
    expect((await processes(server, 'beta', 'api')).map((p) => p.state)).toEqual(['running']);
  }, 60_000);

  it('a changed command is a reload: it waits until every slot runs the new one', async () => {
    const before = await processes(server, 'acme', 'web');
    expect(before).toHaveLength(2); // declared.yaml was applied again just before
    const path = file('reload.yaml', DECLARED.replace('args: ["351"]', 'args: ["357"]'));
    const applied = await corral(server, ['apply', '--yes', '-f', path]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('  ~ acme:web: args ["351"] → ["357"]\n');
    const after = await processes(server, 'acme', 'web');
    expect(after.map((p) => p.state)).toEqual(['running', 'running']);
    for (const [slot, p] of after.entries()) {
      expect(p.pid).not.toBe(before[slot]!.pid);
      expect(applied.stdout).toContain(`acme:web:${slot}: pid ${before[slot]!.pid} → pid ${p.pid}`);
    }
  }, 90_000);
});
