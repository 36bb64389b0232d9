// The HTTP write routes (README "HTTP"; README "Authentication"): tenants, watchers, commands, roles, If-Match
// conflicts, bad input (400 and nothing appended), and a follower forwarding commands to the
// leader (docs/operations.md, "Commands on any node").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, runCorral, type ServerProcess } from '../support/index.js';
import { api, cleanupCorral, history, startCorral } from './support.js';

let server: ServerProcess;
const servers: ServerProcess[] = [];
beforeAll(async () => {
  server = await startCorral({ localMinion: false });
  servers.push(server);
}, 60_000);
afterAll(() => cleanupCorral(servers), 60_000);

/** The tenant's stored events (the global head also moves with lease and component heartbeats). */
const tenantEvents = async (): Promise<number> => (await history(server, 'acme', '*.*.*')).length;
const token = async (role: string, tenant = 'acme'): Promise<string> => {
  const result = await runCorral(['token', '--data-dir', server.dataDir, '--tenant', tenant, '--role', role, '--sub', `${role}-user`]);
  return result.stdout.trim();
};

describe('write routes', () => {
  it('PUT creates a tenant (idempotent), GET reads it, If-Match conflicts are 409 with the current revision', async () => {
    const created = await api(server).send('PUT', '/api/v1/tenants/acme');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ created: true });
    expect(created.headers.get('x-corral-position')).toMatch(/^\d+$/);
    const again = await api(server).send('PUT', '/api/v1/tenants/acme');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: false, positions: [] });
    const conflict = await api(server).send('PUT', '/api/v1/tenants/acme', undefined, { 'if-match': '7' });
    expect(conflict.status).toBe(409);
    expect((conflict.body as { error: { currentRevision: number } }).error.currentRevision).toBe(0);
    const tenant = await api(server).get('/api/v1/tenants/acme');
    expect(tenant.status).toBe(200);
    expect(tenant.body).toMatchObject({ key: 'acme', name: 'acme', state: 'active' });
    expect((await api(server).get('/api/v1/tenants/nobody')).status).toBe(404);
  });

  it('creates, patches, commands and destroys a watcher', async () => {
    const created = await api(server).post('/api/v1/tenants/acme/watchers', { name: 'web', cmd: 'sleep', args: ['300'], numprocesses: 0 });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ key: 'acme:web' });
    const patched = await api(server).send('PATCH', '/api/v1/tenants/acme/watchers/web', { numprocesses: 0, env: { A: '1' } });
    expect(patched.status, patched.text).toBe(200);
    const stale = await api(server).send('PATCH', '/api/v1/tenants/acme/watchers/web', { stopWaitMs: 100 }, { 'if-match': '0' });
    expect(stale.status).toBe(409);
    expect((stale.body as { error: { currentRevision: number } }).error.currentRevision).toBeGreaterThan(0);
    const bodyRevision = await api(server).send('PATCH', '/api/v1/tenants/acme/watchers/web', { stopWaitMs: 100, expectedRevision: 0 });
    expect(bodyRevision.status).toBe(409);
    for (const action of ['stop', 'start', 'restart', 'reload']) {
      const response = await api(server).post(`/api/v1/tenants/acme/watchers/web/${action}`);
      expect(response.status, `${action}: ${response.text}`).toBe(200);
      expect((response.body as { positions: number[] }).positions.length).toBeGreaterThan(0);
    }
    const watcher = await api(server).get('/api/v1/tenants/acme/watchers/web');
    expect(watcher.body).toMatchObject({ env: { A: '1' }, numprocesses: 0 });
    expect((await api(server).send('DELETE', '/api/v1/tenants/acme/watchers/web')).status).toBe(200);
    expect((await api(server).post('/api/v1/tenants/acme/watchers/web/start')).status).toBe(404);
  });

  it('bad input is a 400 that names what is wrong, and nothing is appended', async () => {
    await api(server).post('/api/v1/tenants/acme/watchers', { name: 'ok', cmd: 'sleep', args: ['300'], numprocesses: 0 });
    const before = await tenantEvents();
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/api/v1/tenants/acme/watchers', { name: 'Bad.Name', cmd: 'sleep' }, /watcher name|name/i],
      ['POST', '/api/v1/tenants/acme/watchers', { name: 'w2', cmd: 'sleep', bogus: 1 }, /bogus.*unknown field|unknown field.*bogus|bogus/],
      ['POST', '/api/v1/tenants/acme/watchers', { name: 'w3', cmd: 'sleep', numprocesses: -1 }, /numprocesses/],
      ['POST', '/api/v1/tenants/acme/watchers', { name: 'w4' }, /cmd/],
      ['POST', '/api/v1/tenants/acme/watchers', { cmd: 'sleep' }, /name/],
      ['POST', '/api/v1/tenants/acme/watchers', { name: 'w5', cmd: 'sleep', restart: { delayMs: -5 } }, /restart\.delayMs/],
      ['POST', '/api/v1/tenants/acme/watchers', { name: 'w6', cmd: 'sleep', stopSignal: 'SIGNOPE' }, /stopSignal/],
      ['POST', '/api/v1/tenants/acme/watchers', [1, 2], /object/],
      ['PATCH', '/api/v1/tenants/acme/watchers/ok', { numprocesses: -2 }, /numprocesses/],
      ['PATCH', '/api/v1/tenants/acme/watchers/ok', { name: 'other' }, /renamed/],
      ['POST', '/api/v1/tenants/acme/processes/ok:0/kill', { signal: 'SIGNOPE' }, /signal/],
      ['POST', '/api/v1/tenants/acme/processes/ok:0/kill', { signal: 'SIGTERM', extra: true }, /extra/],
      ['POST', '/api/v1/tenants/acme/processes/ok-0/kill', { signal: 'SIGTERM' }, /process id/],
      ['POST', '/api/v1/tenants/acme/watchers/ok/start', { bogus: 1 }, /bogus/],
      ['PUT', '/api/v1/tenants/Not_Valid', undefined, /tenant/],
      ['POST', '/api/v1/tenants/acme/reconfigure', { watchers: { x: { cmd: 'sleep', numprocesses: 'two' } } }, /numprocesses/],
      ['POST', '/api/v1/tenants/acme/watchers/ok/start', undefined, /If-Match/],
    ];
    for (const [method, path, body, message] of cases) {
      const headers = message.source === 'If-Match' ? { 'if-match': 'seven' } : undefined;
      const response = await api(server).send(method, path, body, headers);
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}: ${response.text}`).toBe(400);
      expect((response.body as { error: { message: string } }).error.message).toMatch(message);
    }
    const malformed = await httpJson(`${server.url}/api/v1/tenants/acme/watchers`, {
      method: 'POST',
      token: server.token,
      body: '{"name": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(await tenantEvents()).toBe(before);
  });

  it('roles: read may not command, operate may command processes but not configure, other tenants are forbidden', async () => {
    const reader = await token('read');
    const operator = await token('operate');
    const stranger = await token('admin', 'other');
    const as = (t: string, method: string, path: string, body?: unknown) => httpJson(`${server.url}${path}`, { method, token: t, ...(body === undefined ? {} : { body }) });
    expect((await as(reader, 'GET', '/api/v1/tenants/acme')).status).toBe(200);
    expect((await as(reader, 'POST', '/api/v1/tenants/acme/watchers/ok/start', {})).status).toBe(403);
    // the role is checked before the body: a reader learns nothing from a command's validation
    expect((await as(reader, 'POST', '/api/v1/tenants/acme/processes/ok.0/kill', { bogus: true })).status).toBe(403);
    expect((await as(reader, 'POST', '/api/v1/tenants/acme/jobs', { fun: 42 })).status).toBe(403);
    expect((await as(operator, 'PATCH', '/api/v1/tenants/acme/watchers/ok', { name: 'renamed' })).status).toBe(403);
    expect((await as(operator, 'POST', '/api/v1/tenants/acme/watchers/ok/start', {})).status).toBe(200);
    expect((await as(operator, 'POST', '/api/v1/tenants/acme/watchers', { name: 'nope', cmd: 'sleep' })).status).toBe(403);
    expect((await as(operator, 'DELETE', '/api/v1/tenants/acme/watchers/ok')).status).toBe(403);
    expect((await as(operator, 'PUT', '/api/v1/tenants/acme2')).status).toBe(403);
    expect((await as(stranger, 'POST', '/api/v1/tenants/acme/watchers/ok/stop', {})).status).toBe(403);
    expect((await as(stranger, 'GET', '/api/v1/tenants/acme')).status).toBe(403);
    expect((await httpJson(`${server.url}/api/v1/tenants/acme/watchers/ok/stop`, { method: 'POST', body: {} })).status).toBe(401);
  });

  it('a follower on the same data directory forwards commands to the leader', async () => {
    const follower = await startCorral({ localMinion: false, dataDir: server.dataDir });
    servers.push(follower);
    const response = await api(follower).post('/api/v1/tenants/acme/watchers/ok/stop');
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const job = await api(follower).post('/api/v1/tenants/acme/jobs', { fun: 'test.ping', tgt: '*' });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    expect(typeof (job.body as { jid: unknown }).jid).toBe('string');
    // reads are served by the follower's own views
    expect((await api(follower).get('/api/v1/tenants/acme')).status).toBe(200);
  }, 60_000);
});
