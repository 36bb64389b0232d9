import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, removeTempDirs, runCorral, startServerProcess, type ServerProcess } from '../support/index.js';

// A server with two configured users (hashes made by `corral hash-password`) and an
// authorization rule, started from a real config file.
let server: ServerProcess;

beforeAll(async () => {
  const [saltHash, viewerHash] = await Promise.all([runCorral(['hash-password', 's3cret']), runCorral(['hash-password', 'look-only'])]);
  expect(saltHash.code).toBe(0);
  expect(saltHash.stdout.trim()).toMatch(/^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/);
  server = await startServerProcess({
    config: {
      auth: {
        tokenTtl: '2h',
        users: [
          { name: 'salt', passwordHash: saltHash.stdout.trim(), tenants: { acme: 'admin' } },
          { name: 'viewer', passwordHash: viewerHash.stdout.trim(), tenants: { acme: 'read' } },
        ],
      },
    },
  });
});
afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

describe('POST /login (Salt-compatible)', () => {
  it('logs in with a urlencoded form, like curl -d', async () => {
    const response = await httpJson(`${server.url}/login`, {
      method: 'POST',
      body: 'username=salt&password=s3cret&eauth=pam',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    });
    expect(response.status).toBe(200);
    const [login] = response.body.return;
    expect(login).toMatchObject({ user: 'salt', eauth: 'pam', perms: ['acme:admin'] });
    expect(login.expire - login.start).toBeGreaterThan(2 * 3600 - 2);
    expect(login.expire - login.start).toBeLessThanOrEqual(2 * 3600);
    // the token works on the API, scoped to the user's tenants
    expect((await httpJson(`${server.url}/api/v1/tenants/acme/info`, { token: login.token })).body.role).toBe('admin');
    expect((await httpJson(`${server.url}/api/v1/tenants/globex/info`, { token: login.token })).status).toBe(403);
  });

  it('logs in with JSON', async () => {
    const response = await httpJson(`${server.url}/login`, { body: { username: 'viewer', password: 'look-only' } });
    expect(response.status).toBe(200);
    expect(response.body.return[0]).toMatchObject({ user: 'viewer', perms: ['acme:read'], eauth: 'corral' });
  });

  it('answers 401 for a wrong password or an unknown user, the same way', async () => {
    for (const body of [
      { username: 'salt', password: 'wrong' },
      { username: 'nobody', password: 's3cret' },
    ]) {
      const response = await httpJson(`${server.url}/login`, { body });
      expect(response.status).toBe(401);
      expect(response.body.error).toEqual({ code: 'unauthenticated', message: 'invalid username or password' });
    }
    const form = await httpJson(`${server.url}/login`, {
      method: 'POST',
      body: 'username=salt&password=nope',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(401);
  });

  it('answers 400 when username or password is missing', async () => {
    const response = await httpJson(`${server.url}/login`, { body: { username: 'salt' } });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/username and password/);
  });
});

describe('password credentials on requests', () => {
  it("accepts Digital Rebar's ?token=user:password and HTTP Basic", async () => {
    const drp = await httpJson(`${server.url}/api/v1/tenants/acme/info?token=${encodeURIComponent('viewer:look-only')}`);
    expect(drp.status).toBe(200);
    expect(drp.body.role).toBe('read');
    const basic = await httpJson(`${server.url}/api/v1/info`, {
      headers: { authorization: `Basic ${Buffer.from('salt:s3cret').toString('base64')}` },
    });
    expect(basic.status).toBe(200);
    expect(basic.body.principal).toEqual({ subject: 'salt', tenants: { acme: 'admin' } });
    expect((await httpJson(`${server.url}/api/v1/info?token=${encodeURIComponent('salt:bad')}`)).status).toBe(401);
  });
});
