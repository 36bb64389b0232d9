import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Authenticator, Gateway, TokenService, registerConsoleRoutes } from '../../gateway/index.js';
import { buildConsole, type ConsoleBuildResult } from '../../ops/console/build.mjs';
import { httpJson, makeTempDir } from '../support/index.js';

// The console's build and static serving: hashed assets cached for a year, index.html
// uncached, unknown names 404, nothing outside the build folder reachable, no auth needed.

let outdir: string;
let built: ConsoleBuildResult;
let gateway: Gateway;
let url: string;

async function startGateway(assetsDir: string): Promise<{ gateway: Gateway; url: string }> {
  const tokens = new TokenService({ secret: new Uint8Array(randomBytes(32)) });
  const gateway = new Gateway({
    authenticator: new Authenticator({ mode: 'tokens', tokens, users: [] }),
    logger: pino({ level: 'silent' }),
    version: 'test',
    componentState: () => 'running',
  });
  registerConsoleRoutes(gateway, { assetsDir });
  const port = await gateway.listen('127.0.0.1', 0);
  return { gateway, url: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  outdir = join(makeTempDir('corral-console-build-'), 'console');
  built = await buildConsole({ outdir });
  ({ gateway, url } = await startGateway(outdir));
});
afterAll(() => gateway?.stopListening());

describe('console build', () => {
  it('names assets by content hash, references them from index.html, and stays small', async () => {
    expect(built.script).toMatch(/^app\.[0-9a-f]{12}\.js$/);
    expect(built.stylesheet).toMatch(/^app\.[0-9a-f]{12}\.css$/);
    const index = readFileSync(join(outdir, 'index.html'), 'utf8');
    expect(index).toContain(`src="/${built.script}"`);
    expect(index).toContain(`href="/${built.stylesheet}"`);
    expect(built.scriptBytes + built.stylesheetBytes).toBeLessThan(100 * 1024);
    // deterministic: the same sources give the same names (caches stay valid across rebuilds)
    const again = await buildConsole({ outdir: join(makeTempDir('corral-console-build-'), 'console') });
    expect(again.script).toBe(built.script);
    expect(again.stylesheet).toBe(built.stylesheet);
  });
});

describe('console static routes', () => {
  it('serves index.html uncached at / and /index.html, without auth', async () => {
    for (const path of ['/', '/index.html']) {
      const response = await httpJson(`${url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.text).toContain(built.script);
    }
  });

  it('serves hashed assets with their content type and a one-year immutable cache', async () => {
    const script = await httpJson(`${url}/${built.script}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.text).toBe(readFileSync(join(outdir, built.script), 'utf8'));
    const style = await httpJson(`${url}/${built.stylesheet}`);
    expect(style.status).toBe(200);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(style.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('answers unknown assets and traversal attempts with 404, never a file', async () => {
    for (const path of ['/app.0123456789ab.js', '/package.json', '/../package.json', '/%2e%2e/package.json', `/${built.script}/../../package.json`, '/..%2fpackage.json', '/index.html/x']) {
      const response = await httpJson(`${url}${path}`);
      expect(response.status, path).toBe(404);
      expect(response.text).not.toContain('"name": "corral"');
    }
  });

  it('leaves other routes alone: the API still needs a token, wrong methods still get 405', async () => {
    expect((await httpJson(`${url}/api/v1/info`)).status).toBe(401);
    const login = await httpJson(`${url}/login`);
    expect(login.status).toBe(405);
  });

  it('answers 503 with a hint when the console was not built', async () => {
    const missing = await startGateway(join(makeTempDir('corral-console-missing-'), 'console'));
    try {
      const response = await httpJson(`${missing.url}/`);
      expect(response.status).toBe(503);
      expect(response.body.error.message).toMatch(/not built.*npm run build/);
    } finally {
      missing.gateway.stopListening();
    }
  });
});
