import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { removeTempDirs, runCorral, startServerProcess, waitFor, type ServerProcess } from '../support/index.js';

// Issue 15 item 5: password logins (POST /login, Basic auth, ?token=user:password) had no
// rate limit: a client could guess as fast as scrypt ran, and a flood of guesses took the CPU.

let server: ServerProcess;

beforeAll(async () => {
  const [alice, bob, carol] = await Promise.all(['alice-pw', 'bob-pw', 'carol-pw'].map((pw) => runCorral(['hash-password', pw])));
  server = await startServerProcess({
    config: {
      auth: {
        users: [
          { name: 'alice', passwordHash: alice!.stdout.trim(), tenants: { acme: 'operate' } },
          { name: 'bob', passwordHash: bob!.stdout.trim(), tenants: { acme: 'read' } },
          { name: 'carol', passwordHash: carol!.stdout.trim(), tenants: { acme: 'read' } },
        ],
      },
      tenants: { acme: { watchers: {} } },
    },
  });
});
afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: any;
}

/** One request from a chosen loopback source address (127.0.0.0/8 is all loopback on Linux). */
function send(path: string, options: { from?: string; method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      { method: options.method ?? 'GET', headers: options.headers, localAddress: options.from ?? '127.0.0.1' },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const login = (username: string, password: string, from?: string): Promise<Answer> =>
  send('/login', { method: 'POST', from, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });

describe('password logins are throttled', () => {
  it('a flood of bad passwords gets 429 with Retry-After; another user elsewhere still logs in; the user can after the backoff', async () => {
    // 40 guesses at once: the password checks are capped, the rest is refused at once
    const flood = await Promise.all(Array.from({ length: 40 }, (_, i) => login('alice', `guess-${i}`)));
    const refused = flood.filter((answer) => answer.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(flood.every((answer) => answer.status === 401 || answer.status === 429)).toBe(true);
    for (const answer of refused) {
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(answer.body.error.code).toBe('too-many-requests');
    }

    // keep guessing one at a time: after a few failures alice is in backoff
    const throttled = await waitFor(
      async () => {
        const answer = await login('alice', 'another-guess');
        return answer.status === 429 && /failed logins for user alice/.test(answer.body.error.message) ? answer : null;
      },
      { description: 'alice is in backoff' },
    );
    expect(Number(throttled.retryAfter)).toBeGreaterThanOrEqual(1);
    // in backoff, even the right password is refused without being checked
    expect((await login('alice', 'alice-pw')).status).toBe(429);

    // another user from another address is not affected
    const bob = await login('bob', 'bob-pw', '127.0.0.2');
    expect(bob.status).toBe(200);
    expect(bob.body.return[0].user).toBe('bob');

    // after the backoff alice logs in (attempts refused meanwhile do not prolong it)
    const started = Date.now();
    const ok = await waitFor(
      async () => {
        const answer = await login('alice', 'alice-pw');
        return answer.status === 200 ? answer : null;
      },
      { timeoutMs: 20_000, intervalMs: 200, description: 'alice logs in after the backoff' },
    );
    expect(ok.body.return[0].user).toBe('alice');
    expect(Date.now() - started).toBeLessThan(Number(throttled.retryAfter) * 1000 + 2000);
    // the success reset her counter: one wrong password is a plain 401 again
    expect((await login('alice', 'wrong')).status).toBe(401);
  });

  it('Basic auth and ?token=user:password count as logins too', async () => {
    const basic = (password: string) =>
      send('/api/v1/tenants/acme/info', { from: '127.0.0.3', headers: { authorization: `Basic ${Buffer.from(`carol:${password}`).toString('base64')}` } });
    expect((await basic('carol-pw')).status).toBe(200);
    const throttled = await waitFor(
      async () => {
        const answer = await basic('guess');
        return answer.status === 429 ? answer : null;
      },
      { description: 'carol is in backoff (Basic)' },
    );
    expect(Number(throttled.retryAfter)).toBeGreaterThanOrEqual(1);
    // the same user by ?token=user:password is in the same backoff
    const query = await send(`/api/v1/tenants/acme/info?token=${encodeURIComponent('carol:carol-pw')}`, { from: '127.0.0.3' });
    expect(query.status).toBe(429);
    expect(Number(query.retryAfter)).toBeGreaterThanOrEqual(1);
    // and on a websocket upgrade (Digital Rebar's ?token=user:password)
    const upgrade = await new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/v3/ws?token=${encodeURIComponent('carol:carol-pw')}`, { localAddress: '127.0.0.3' });
      ws.on('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined });
        ws.terminate();
      });
      ws.on('open', () => reject(new Error('the upgrade was accepted')));
      ws.on('error', () => undefined);
    });
    expect(upgrade.status).toBe(429);
    expect(Number(upgrade.retryAfter)).toBeGreaterThanOrEqual(1);
  });
});
