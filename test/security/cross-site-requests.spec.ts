import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, removeTempDirs, runCorral, startServerProcess, waitFor, type ServerProcess } from '../support/index.js';

// Issue 15 item 4: with `auth: none` every caller is admin, so the browser of anyone who runs
// the server must not become a caller for other sites. A page on evil.example can send
// "simple" cross-site requests (text/plain, form or no content type, no preflight) and, by
// DNS rebinding, requests with `Host: evil.example` to 127.0.0.1. Node's fetch sends no Origin.

let open: ServerProcess; // auth: none
let secured: ServerProcess; // tokens
const EVIL = 'http://evil.example';

beforeAll(async () => {
  const hash = await runCorral(['hash-password', 's3cret']);
  expect(hash.code).toBe(0);
  [open, secured] = await Promise.all([
    startServerProcess({ config: { auth: 'none', tenants: { acme: { watchers: {} } } } }),
    startServerProcess({
      config: {
        auth: { users: [{ name: 'salt', passwordHash: hash.stdout.trim(), tenants: { acme: 'admin' } }] },
        tenants: { acme: { watchers: {} } },
      },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.stop(), secured?.stop()]);
  removeTempDirs();
});

const watcherSpec = (name: string): string => JSON.stringify({ name, cmd: 'sleep', args: ['300'], active: false });

/** A raw HTTP request (fetch cannot set Host), answering status and parsed JSON body. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON (e.g. the console's HTML)
        }
        resolve({ status: res.statusCode!, body });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A websocket handshake: the HTTP status of a refusal, or 101. */
function handshake(url: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': Buffer.from('0123456789abcdef').toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve({ status: 101, body: null });
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function watcherNames(server: ServerProcess): Promise<string[]> {
  const response = await httpJson(`${server.url}/api/v1/tenants/acme/watchers`, { token: server.token });
  expect(response.status).toBe(200);
  return (response.body.items as { name: string }[]).map((w) => w.name);
}

describe('mutating requests need a JSON content type', () => {
  it('a text/plain POST (a cross-site "simple" request) is refused with 415 and creates nothing', async () => {
    const response = await httpJson(`${open.url}/api/v1/tenants/acme/watchers`, {
      body: watcherSpec('plain'),
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('unsupported-media-type');
    expect(response.body.error.message).toMatch(/Content-Type: application\/json.*got "text\/plain"/);
    expect(await watcherNames(open)).not.toContain('plain');
  });

  it('a body without a content type, and a form outside /login, are refused with 415', async () => {
    const untyped = await httpJson(`${open.url}/api/v1/tenants/acme/watchers`, { body: new TextEncoder().encode(watcherSpec('untyped')) });
    expect(untyped.status).toBe(415);
    expect(untyped.body.error.message).toMatch(/no Content-Type/);
    const form = await httpJson(`${open.url}/api/v1/tenants/acme/jobs`, {
      body: 'fun=cmd.run&args=id&tgt=*',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(await watcherNames(open)).not.toContain('untyped');
  });

  it('JSON (also with a charset) is accepted, and /login still takes a form', async () => {
    const json = await httpJson(`${open.url}/api/v1/tenants/acme/watchers`, {
      body: watcherSpec('json'),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(json.status).toBe(201);
    // the view shows it: the refused attempts above would be visible by now too
    await waitFor(async () => (await watcherNames(open)).includes('json'), { description: 'the watcher json in the view' });
    expect(await watcherNames(open)).not.toContain('plain');
    expect(await watcherNames(open)).not.toContain('untyped');
    const login = await httpJson(`${secured.url}/login`, {
      body: 'username=salt&password=wrong',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    // read as a form: the credentials are checked (and wrong), not refused for their type
    expect(login.status).toBe(401);
  });
});

describe('a foreign Origin is refused on mutating requests', () => {
  it('a JSON POST from evil.example gets 403 naming the origin, and creates nothing', async () => {
    const response = await httpJson(`${open.url}/api/v1/tenants/acme/watchers`, {
      body: JSON.parse(watcherSpec('evil')),
      headers: { origin: EVIL },
    });
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('forbidden');
    expect(response.body.error.message).toContain('Origin http://evil.example');
    expect(await watcherNames(open)).not.toContain('evil');
  });

  it('a bodiless command (kill) and Origin: null are refused too; a token does not make a foreign Origin acceptable', async () => {
    const kill = await httpJson(`${open.url}/api/v1/tenants/acme/processes/x:0/kill`, { method: 'POST', headers: { origin: EVIL } });
    expect(kill.status).toBe(403);
    const opaque = await httpJson(`${open.url}/api/v1/tenants/acme/watchers/json`, { method: 'DELETE', headers: { origin: 'null' } });
    expect(opaque.status).toBe(403);
    const withToken = await httpJson(`${secured.url}/api/v1/tenants/acme/watchers`, {
      token: secured.token,
      body: JSON.parse(watcherSpec('evil')),
      headers: { origin: EVIL },
    });
    expect(withToken.status).toBe(403);
  });

  it("the server's own origin (the console) is accepted, and reads are not affected", async () => {
    const own = await httpJson(`${open.url}/api/v1/tenants/acme/watchers`, { body: JSON.parse(watcherSpec('console')), headers: { origin: open.url } });
    expect(own.status).toBe(201);
    const read = await httpJson(`${open.url}/api/v1/tenants/acme/watchers`, { headers: { origin: EVIL } });
    expect(read.status).toBe(200);
  });

  it('a websocket handshake from a foreign Origin is refused with auth: none', async () => {
    const wsUrl = `${open.url}/ws`;
    const foreign = await handshake(wsUrl, { origin: EVIL });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.message).toContain('Origin http://evil.example');
    expect((await handshake(wsUrl, { origin: open.url })).status).toBe(101);
    expect((await handshake(wsUrl, {})).status).toBe(101);
  });
});

describe('with auth: none, Host must be a loopback name', () => {
  it('Host: evil.example (DNS rebinding) is refused on every route, with a message', async () => {
    for (const path of ['/api/v1/tenants/acme/watchers', '/', '/health/ready']) {
      const response = await raw(`${open.url}${path}`, { headers: { host: `evil.example:${open.port}` } });
      expect(response.status, path).toBe(403);
      expect(response.body.error.message, path).toMatch(/Host "evil.example:\d+" is not a loopback name/);
    }
    const post = await raw(`${open.url}/api/v1/tenants/acme/watchers`, {
      method: 'POST',
      headers: { host: 'evil.example', origin: 'http://evil.example', 'content-type': 'application/json' },
      body: watcherSpec('rebound'),
    });
    expect(post.status).toBe(403);
    expect((await handshake(`${open.url}/ws`, { host: 'evil.example' })).status).toBe(403);
    expect(await watcherNames(open)).not.toContain('rebound');
  });

  it('localhost, 127.0.0.1 and [::1], with or without a port, are served', async () => {
    for (const host of ['localhost', `localhost:${open.port}`, `127.0.0.1:${open.port}`, '[::1]', `[::1]:${open.port}`, 'LOCALHOST']) {
      expect((await raw(`${open.url}/api/v1/tenants/acme/watchers`, { headers: { host } })).status, host).toBe(200);
    }
  });

  it('with tokens, other host names are served (a server behind a name)', async () => {
    const response = await raw(`${secured.url}/api/v1/tenants/acme/watchers`, {
      headers: { host: 'corral.example.com', authorization: `Bearer ${secured.token}` },
    });
    expect(response.status).toBe(200);
  });
});
