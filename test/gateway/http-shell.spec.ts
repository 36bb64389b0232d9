import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, removeTempDirs, runCorral, startServerProcess, type ServerProcess } from '../support/index.js';

// One real `corral serve` (embedded store, port 0) for the whole file.
let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess();
});
afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

const secretOf = (dataDir: string): Uint8Array =>
  new Uint8Array(Buffer.from(readFileSync(join(dataDir, 'secret'), 'utf8').trim(), 'base64url'));

async function mint(options: { secret: Uint8Array; exp?: number; iss?: string; tenants?: Record<string, string> }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ 'corral.tenants': options.tenants ?? { '*': 'admin' } })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('tester')
    .setIssuer(options.iss ?? 'corral')
    .setAudience('corral')
    .setIssuedAt(now - 7200)
    .setExpirationTime(options.exp ?? now + 3600)
    .sign(options.secret);
}

describe('probes', () => {
  it('live and ready answer 200 without a token', async () => {
    expect((await httpJson(`${server.url}/health/live`)).status).toBe(200);
    const ready = await httpJson(`${server.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', state: 'running' });
  });

  it('probes ignore a stale or broken token instead of failing', async () => {
    expect((await httpJson(`${server.url}/health/ready`, { token: 'not.a.token' })).status).toBe(200);
  });

  it('a mistyped probe path is a JSON 404, not a 200', async () => {
    const response = await httpJson(`${server.url}/healthy/ready`, { token: server.token });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not-found');
  });
});

describe('metrics and info', () => {
  it('serves Prometheus text with process, store and HTTP metrics', async () => {
    await httpJson(`${server.url}/api/v1/info`, { token: server.token });
    const response = await httpJson(`${server.url}/metrics`, { token: server.token });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(response.text).toContain('process_cpu_user_seconds_total');
    expect(response.text).toMatch(/corral_store_head_position\{backend="embedded"\} \d+/);
    expect(response.text).toContain('corral_store_commit_latency_seconds_count');
    expect(response.text).toMatch(/corral_http_requests_total\{method="get",route="\/api\/v1\/info",status="200"\} [1-9]/);
  });

  it('/api/v1/info reports version, capabilities, model API and the websocket URL', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const response = await httpJson(`${server.url}/api/v1/info`, { token: server.token });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      version: pkg.version,
      modelApi: { system: 2, min: 1, max: 2 },
      websocketUrl: `ws://127.0.0.1:${server.port}/ws`,
      principal: { subject: 'admin', tenants: { '*': 'admin' } },
    });
    expect(response.body.capabilities).toContain('auth.login');
  });

  it('everything but the probes needs a token', async () => {
    for (const path of ['/api/v1/info', '/metrics', '/api/v1/tenants/acme/info']) {
      const response = await httpJson(`${server.url}${path}`);
      expect(response.status, path).toBe(401);
      expect(response.body.error.code).toBe('unauthenticated');
    }
  });
});

describe('tokens', () => {
  it('accepts a token minted by `corral token`, scoped to its tenant', async () => {
    const minted = await runCorral(['token', '--data-dir', server.dataDir, '--tenant', 'acme', '--role', 'read', '--sub', 'alice']);
    expect(minted.code, minted.stderr).toBe(0);
    const token = minted.stdout.trim();
    const own = await httpJson(`${server.url}/api/v1/tenants/acme/info`, { token });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ tenant: 'acme', role: 'read' });
    // the same token as ?token= and X-Auth-Token (Salt)
    expect((await httpJson(`${server.url}/api/v1/tenants/acme/info?token=${token}`)).status).toBe(200);
    expect((await httpJson(`${server.url}/api/v1/tenants/acme/info`, { headers: { 'x-auth-token': token } })).status).toBe(200);

    const other = await httpJson(`${server.url}/api/v1/tenants/globex/info`, { token });
    expect(other.status).toBe(403);
    expect(other.body.error).toMatchObject({ code: 'forbidden', tenant: 'globex' });
    expect(other.body.error.message).toContain('alice has no access to tenant globex');
    // cluster-wide data needs `*`
    expect((await httpJson(`${server.url}/metrics`, { token })).status).toBe(403);
  });

  it('rejects expired, malformed and wrongly signed tokens with 401 and the reason', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, RegExp][] = [
      ['expired', await mint({ secret: secretOf(server.dataDir), exp: now - 60 }), /token expired at \d{4}-/],
      ['wrongly signed', await mint({ secret: new Uint8Array(48).fill(7) }), /signature is invalid/],
      ['wrong issuer', await mint({ secret: secretOf(server.dataDir), iss: 'someone-else' }), /claim "iss"/],
      ['not a JWT', 'abc', /malformed token/],
      ['garbage parts', 'a.b.c', /malformed token/],
      ['bad role claim', await mint({ secret: secretOf(server.dataDir), tenants: { acme: 'root' } }), /role must be read, operate or admin/],
    ];
    for (const [name, token, reason] of cases) {
      const response = await httpJson(`${server.url}/api/v1/info`, { token });
      expect(response.status, name).toBe(401);
      expect(response.body.error.code, name).toBe('unauthenticated');
      expect(response.body.error.message, name).toMatch(reason);
    }
    const unsupported = await httpJson(`${server.url}/api/v1/info`, { headers: { authorization: 'Digest x=y' } });
    expect(unsupported.status).toBe(401);
  });
});

describe('request bodies', () => {
  it('rejects a body over 1 MiB with 413', async () => {
    const big = Buffer.alloc(1024 * 1024 + 10, 0x61);
    const response = await httpJson(`${server.url}/login`, { method: 'POST', body: big, headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('too-large');
  });

  it('rejects malformed JSON with 400 and says why', async () => {
    const response = await httpJson(`${server.url}/login`, { method: 'POST', body: '{"username": ', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('bad-request');
    expect(response.body.error.message).toMatch(/malformed JSON body/);
  });

  it('answers a wrong method with 405 and Allow', async () => {
    const response = await httpJson(`${server.url}/login`, { token: server.token });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});
