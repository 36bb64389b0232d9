import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig, loadConfigFile, parseConfigText } from '../../ops/config/index.js';
import { InvalidArgumentError } from '../../store/index.js';
import { hashPassword } from '../../gateway/index.js';
import { makeTempDir, removeTempDirs, REPO_ROOT } from '../support/index.js';

afterAll(removeTempDirs);

const parse = (text: string, env: Record<string, string> = {}) => parseConfigText(text, '/etc/corral/corral.yaml', env);

function errorOf(text: string, env: Record<string, string> = {}): string {
  try {
    parse(text, env);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return (error as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('config loading', () => {
  it('fills the defaults of README "CLI" and "Configuration"', () => {
    const config = parse('{}');
    expect(config.server).toEqual({ host: '127.0.0.1', port: 8080, dataDir: defaultConfig().server.dataDir });
    expect(config.store).toEqual({ kind: 'embedded', url: null });
    expect(config.auth).toMatchObject({ mode: 'tokens', users: [], rules: [] });
  });

  it('loads the §14 example with watcher defaults filled in and dataDir relative to the file', () => {
    const config = parse(`
server: { host: 127.0.0.1, port: 9000, dataDir: ./data }
store: { kind: embedded }
tenants:
  acme:
    watchers:
      web:
        cmd: node
        args: [server.js]
        cwd: /srv/web
        env: { PORT: "3000", DEBUG: 1 }
        numprocesses: 2
        restart: { delayMs: 500 }
        ready: { kind: tcp, port: 3000 }
        stopSignal: TERM
`);
    expect(config.server.dataDir).toBe('/etc/corral/data');
    expect(config.tenants.acme!.watchers.web).toEqual({
      cmd: 'node',
      args: ['server.js'],
      env: { PORT: '3000', DEBUG: '1' },
      cwd: '/srv/web',
      numprocesses: 2,
      minion: 'local',
      restart: { delayMs: 500, minAliveMs: 5000, maxRetries: 5 },
      ready: { kind: 'tcp', port: 3000 },
      stopSignal: 'SIGTERM',
      stopWaitMs: 5000,
      logs: { maxLines: 10000 },
      active: true,
    });
  });

  it('supports anchors and merge keys for inheritance', () => {
    const config = parse(`
x-base: &base { cmd: sleep, args: ["60"], numprocesses: 3, restart: { maxRetries: 1 } }
tenants:
  acme:
    watchers:
      a: { <<: *base }
      b: { <<: *base, numprocesses: 1 }
`);
    expect(config.tenants.acme!.watchers.a!.numprocesses).toBe(3);
    expect(config.tenants.acme!.watchers.b).toMatchObject({ cmd: 'sleep', numprocesses: 1, restart: { maxRetries: 1 } });
  });

  it('interpolates ${ENV} and ${ENV:-default}, typing whole-value numbers', () => {
    const config = parse(
      `
server: { port: "\${PORT:-8181}", host: "\${HOST}" }
tenants:
  acme:
    watchers:
      web: { cmd: "\${APP_DIR}/bin/web", args: ["--price=$$5"], env: { TOKEN: "\${SECRET:-none}" } }
`,
      { HOST: '127.0.0.2', APP_DIR: '/opt/app' },
    );
    expect(config.server).toMatchObject({ port: 8181, host: '127.0.0.2' });
    expect(config.tenants.acme!.watchers.web).toMatchObject({ cmd: '/opt/app/bin/web', args: ['--price=$5'], env: { TOKEN: 'none' } });
  });

  it('names the variable and the field when a variable is unset', () => {
    expect(errorOf('tenants: { acme: { watchers: { web: { cmd: "${APP}/run" } } } }')).toBe(
      '/etc/corral/corral.yaml: tenants.acme.watchers.web.cmd: environment variable APP is not set (set it, or write ${APP:-default})',
    );
  });

  it.each([
    ['tenants: { acme: { watchers: { web: { cmd: x, numprocesses: -1 } } } }', 'tenants.acme.watchers.web.numprocesses: must be an integer >= 0'],
    ['tenants: { acme: { watchers: { web: { cmd: x, numproceses: 2 } } } }', 'tenants.acme.watchers.web.numproceses: unknown field'],
    ['tenants: { acme: { watchers: { web: { args: [a] } } } }', 'tenants.acme.watchers.web.cmd: is required'],
    ['tenants: { acme: { watchers: { web: { cmd: "  " } } } }', 'tenants.acme.watchers.web.cmd: is required'],
    ['tenants: { acme: { watchers: { web: { cmd: x, stopSignal: SIGFOO } } } }', 'tenants.acme.watchers.web.stopSignal: unknown signal "SIGFOO"'],
    ['tenants: { acme: { watchers: { web: { cmd: x, ready: { kind: tcp } } } } }', 'tenants.acme.watchers.web.ready.port: is required'],
    ['tenants: { acme: { watchers: { web: { cmd: x, ready: { kind: tcp, port: 70000 } } } } }', 'tenants.acme.watchers.web.ready.port: must be an integer >= 1'],
    ['tenants: { acme: { watchers: { web: { cmd: x, ready: { kind: socket } } } } }', 'tenants.acme.watchers.web.ready.kind: must be one of none, delay, tcp, http, notify'],
    ['tenants: { Acme: {} }', 'tenants.Acme: invalid tenant name'],
    ['tenants: { acme: { watchers: { "web.1": { cmd: x } } } }', 'tenants.acme.watchers.web.1: invalid watcher name'],
    ['server: { port: 80000 }', 'server.port: must be an integer >= 0 and <= 65535'],
    ['server: { prot: 8080 }', 'server.prot: unknown field (allowed: host, port, dataDir)'],
    ['store: { kind: postgres }', 'store.kind: must be one of embedded, memory, kurrentdb'],
    ['store: { kind: kurrentdb }', 'store.url: is required when store.kind is kurrentdb'],
    ['auth: nope', 'auth: must be "none" or a mapping'],
    ['auth: { users: [{ name: bob, passwordHash: plain }] }', 'auth.users[0].passwordHash: invalid password hash'],
    ['auth: { rules: [{ tenant: acme, role: operate, claims: {} }] }', 'auth.rules[0].claims: must name at least one claim'],
    ['auth: { rules: [{ tenant: acme, role: owner, claims: { groups: ops } }] }', 'auth.rules[0].role: must be read, operate or admin'],
    ['auth: { jwt: { issuer: x } }', 'auth.jwt: needs exactly one of jwksUrl or publicKey'],
    ['auth: { tokenTtl: soon }', 'auth.tokenTtl: must be a positive duration'],
    ['minion: { id: "Host.1" }', 'minion.id: must match'],
    ['surprise: 1', 'config.surprise: unknown field'],
    ['server: { port: 1, port: 2 }', 'invalid YAML: Map keys must be unique'],
    ['', '/etc/corral/corral.yaml: the configuration file is empty'],
    ['\n  \n', '/etc/corral/corral.yaml: the configuration file is empty'],
    ['# tenants:\n#   acme: {}\n', '/etc/corral/corral.yaml: the configuration file is empty'],
  ])('rejects %s naming the field', (text, expected) => {
    expect(errorOf(text)).toContain(expected);
  });

  it('accepts users, rules, an external issuer and auth: none', async () => {
    const hash = await hashPassword('pw');
    const config = parse(`
auth:
  tokenTtl: 30m
  jwt: { jwksUrl: "https://sso.example.com/jwks.json", issuer: "https://sso.example.com", audience: corral }
  users: [{ name: salt, passwordHash: "${hash}", tenants: { acme: admin, "*": read } }]
  rules: [{ tenant: acme, role: operate, claims: { groups: [ops, sre] } }]
`);
    expect(config.auth).toEqual({
      mode: 'tokens',
      tokenTtlMs: 30 * 60_000,
      jwt: { jwksUrl: 'https://sso.example.com/jwks.json', issuer: 'https://sso.example.com', audience: 'corral' },
      users: [{ name: 'salt', passwordHash: hash, tenants: { acme: 'admin', '*': 'read' } }],
      rules: [{ tenant: 'acme', role: 'operate', claims: { groups: ['ops', 'sre'] } }],
    });
    expect(parse('auth: none').auth).toEqual({ mode: 'none' });
  });

  it('reads files, and says which file could not be read', () => {
    const dir = makeTempDir();
    const file = join(dir, 'corral.yaml');
    writeFileSync(file, 'store: { kind: memory }\n');
    expect(loadConfigFile(file).store.kind).toBe('memory');
    expect(() => loadConfigFile(join(dir, 'missing.yaml'))).toThrow(/cannot read config file .*missing\.yaml: ENOENT/);
  });

  it('loads the demo configuration `npm start` uses', () => {
    const config = loadConfigFile(join(REPO_ROOT, 'ops/demo/corral.yaml'), {});
    expect(Object.keys(config.tenants)).toEqual(['demo']);
    expect(Object.keys(config.tenants.demo!.watchers).length).toBeGreaterThanOrEqual(2);
    expect(config.server.port).toBe(8080);
  });
});
