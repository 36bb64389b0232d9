// The deployment files of ops/deploy. No container engine runs here, so the compose file is
// checked for what can be checked without one: it parses, its services reference each other
// consistently, and the corral configuration it mounts passes corral's own validation. The
// systemd units pass `systemd-analyze verify` where it is installed, and the `Type=notify`
// protocol the unit relies on is exercised against a stand-in NOTIFY_SOCKET, across a
// rolling restart.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../ops/index.js';
import { makeTempDir, removeTempDirs, REPO_ROOT, runCorral, waitFor } from '../support/index.js';
import { cleanupCorral, freePort, serverPid, startCorral } from './support.js';

afterAll(async () => {
  await cleanupCorral();
  removeTempDirs();
}, 60_000);

const DEPLOY = join(REPO_ROOT, 'ops', 'deploy');
const COMPOSE_DIR = join(DEPLOY, 'compose');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  volumes?: string[];
  secrets?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  command?: string[];
  entrypoint?: string[];
}

describe('compose: three KurrentDB nodes, two corral servers behind haproxy, a minion', () => {
  const compose = parse(readFileSync(join(COMPOSE_DIR, 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
    secrets: Record<string, { file: string }>;
  };
  const services = compose.services;

  it('has the services, and each one what it needs', () => {
    expect(Object.keys(services).sort()).toEqual(['corral-1', 'corral-2', 'haproxy', 'kurrentdb-1', 'kurrentdb-2', 'kurrentdb-3', 'minion-1']);
    for (const node of [1, 2, 3]) {
      const kurrent = services[`kurrentdb-${node}`]!;
      expect(kurrent.environment!.KURRENTDB_CLUSTER_SIZE).toBe('3');
      const seeds = kurrent.environment!.KURRENTDB_GOSSIP_SEED!.split(',').sort();
      expect(seeds).toEqual([1, 2, 3].filter((other) => other !== node).map((other) => `kurrentdb-${other}:2113`));
      expect(kurrent.healthcheck).toBeDefined();
    }
    for (const name of ['corral-1', 'corral-2']) {
      const corral = services[name]!;
      const url = corral.environment!.CORRAL_STORE_URL!;
      for (const node of [1, 2, 3]) expect(url).toContain(`kurrentdb-${node}:2113`);
      expect(corral.secrets).toEqual(['corral_secret']);
      expect(Object.keys(corral.depends_on!).sort()).toEqual(['kurrentdb-1', 'kurrentdb-2', 'kurrentdb-3']);
      expect(corral.healthcheck!.test.join(' ')).toContain('/health/ready');
      expect(corral.entrypoint!.join(' ')).toContain('--no-local-minion');
      expect(corral.volumes).toContain('./corral.yaml:/etc/corral/corral.yaml:ro');
    }
    expect(services['minion-1']!.command!.slice(0, 3)).toEqual(['minion', '--server', 'http://haproxy:8080']);
    // every named volume is declared, every bind-mounted file exists
    for (const service of Object.values(services)) {
      for (const volume of service.volumes ?? []) {
        const [source] = volume.split(':');
        if (source!.startsWith('./')) expect(existsSync(join(COMPOSE_DIR, source!)), source).toBe(true);
        else expect(compose.volumes, source).toHaveProperty(source!);
      }
    }
    const build = services['corral-1']!.build!;
    expect(existsSync(join(COMPOSE_DIR, build.context, build.dockerfile))).toBe(true);
  });

  it('mounts a corral configuration that corral itself accepts', () => {
    const url = services['corral-1']!.environment!.CORRAL_STORE_URL!;
    const config = loadConfigFile(join(COMPOSE_DIR, 'corral.yaml'), { CORRAL_STORE_URL: url });
    expect(config.store).toEqual({ kind: 'kurrentdb', url });
    expect(config.server).toMatchObject({ host: '0.0.0.0', port: 8080, dataDir: '/var/lib/corral' });
    expect(config.minion.local).toBe(false);
    expect(config.auth.mode).toBe('tokens');
  });

  it('balances over both servers with /health/ready checks and websocket tunnels', () => {
    const haproxy = readFileSync(join(COMPOSE_DIR, 'haproxy.cfg'), 'utf8');
    expect(haproxy).toMatch(/http-check send meth GET uri \/health\/ready/);
    expect(haproxy).toMatch(/http-check expect status 200/);
    expect(haproxy).toMatch(/timeout tunnel/);
    expect(haproxy).toMatch(/retry-on .*503/);
    expect(haproxy).toMatch(/server corral-1 corral-1:8080 check/);
    expect(haproxy).toMatch(/server corral-2 corral-2:8080 check/);
    expect(services.haproxy!.volumes).toContain('./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
  });
});

describe('systemd units', () => {
  const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
  for (const unit of ['corral.service', 'corral-minion.service']) {
    it.skipIf(!hasSystemdAnalyze)(`${unit} passes systemd-analyze verify without warnings`, () => {
      const result = spawnSync('systemd-analyze', ['verify', join(DEPLOY, 'systemd', unit)], { encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
    });
  }

  it('corral.service: notify, rolling reload, and a minion that outlives a crash', () => {
    const unit = readFileSync(join(DEPLOY, 'systemd', 'corral.service'), 'utf8');
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^NotifyAccess=all$/m);
    expect(unit).toMatch(/^KillMode=process$/m);
    expect(unit).toMatch(/^ExecReload=.* ctl --data-dir \/var\/lib\/corral restart --rolling$/m);
    expect(unit).toMatch(/^ExecStart=.* serve --config \/etc\/corral\/corral.yaml --data-dir \/var\/lib\/corral$/m);
  });

  it('a server tells NOTIFY_SOCKET it is ready and the main pid; its successor takes over the main pid before the old one exits', async () => {
    const socketPath = join(makeTempDir('corral-notify-'), 'notify.sock');
    // A stand-in for systemd's notification socket (a unix datagram socket, which node cannot bind).
    const listener = spawn('python3', ['-u', '-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    print(s.recv(65536).decode().replace("\\n", " "), flush=True)
`, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    const messages: string[] = [];
    createInterface({ input: listener.stdout! }).on('line', (line) => messages.push(line));
    try {
      await waitFor(() => messages.includes('bound'), { description: 'the notify socket' });
      const server = await startCorral({ localMinion: false, args: ['--port', String(await freePort())], env: { NOTIFY_SOCKET: socketPath } });
      await waitFor(() => messages.some((m) => m.includes('READY=1') && m.includes(`MAINPID=${server.pid}`)), { description: 'READY=1 MAINPID from the server' });

      void server.exited.then(() => messages.push('OLD SERVER EXITED'));
      const restart = await runCorral(['ctl', '--data-dir', server.dataDir, 'restart', '--rolling'], { timeoutMs: 120_000 });
      expect(restart.code, restart.stderr).toBe(0);
      await server.exited;
      const successor = serverPid(server.dataDir)!;
      expect(successor).not.toBe(server.pid);
      // systemd learns the new main pid while the old one still runs, so it never sees the unit's main process exit
      const announced = messages.findIndex((m) => m.includes('READY=1') && m.includes(`MAINPID=${successor}`));
      const exited = messages.indexOf('OLD SERVER EXITED');
      expect(announced, messages.join('\n')).toBeGreaterThan(0);
      expect(announced, messages.join('\n')).toBeLessThan(exited);
    } finally {
      listener.kill('SIGKILL');
    }
  }, 120_000);
});
