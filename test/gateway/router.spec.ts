import { request } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralError, WrongExpectedRevisionError } from '../../store/index.js';
import { Authenticator, Gateway, HttpReply, TokenService, type ResponseStream } from '../../gateway/index.js';
import { httpJson, waitFor } from '../support/index.js';

// An in-process gateway with routes added the way other modules add theirs.
const tokens = new TokenService({ secret: new Uint8Array(48).fill(3) });
let gateway: Gateway;
let base: string;
let admin: string;
let reader: string;
const streams: ResponseStream[] = [];
const CHUNK = 'x'.repeat(64 * 1024 - 1) + '\n';
const CHUNKS = 1024; // 64 MiB: far more than socket buffers hold

beforeAll(async () => {
  gateway = new Gateway({
    authenticator: new Authenticator({ mode: 'tokens', tokens }),
    logger: pino({ level: 'silent' }),
    version: 'test',
    componentState: () => 'running',
  });
  const router = gateway.router;
  router.get('/api/v1/tenants/:t/watchers/:w', (ctx) => {
    ctx.requireRole(ctx.params.t!, 'read');
    return { params: ctx.params, query: ctx.query };
  });
  router.get('/api/v1/tenants/:t/watchers/special', () => ({ literal: true }));
  router.post('/api/v1/tenants/:t/watchers/:w/stop', (ctx) => {
    ctx.requireRole(ctx.params.t!, 'operate');
    const expected = ctx.expectedRevision();
    if (expected !== undefined && expected !== 4) throw new WrongExpectedRevisionError(`watcher-${ctx.params.t}:${ctx.params.w}`, expected, 4);
    return HttpReply.json({ stopped: ctx.params.w, expected }, 202);
  });
  router.post('/echo', (ctx) => ({ bytes: ctx.rawBody?.length ?? 0, body: ctx.body }));
  router.get('/boom', () => {
    throw new Error('secret internal detail /etc/passwd');
  });
  router.get('/teapot', () => {
    throw new CorralError('unavailable', 'not the leader', { leader: 'http://other:8080' });
  });
  router.get('/stream', async (ctx) => {
    const out = ctx.stream({ headers: { 'content-type': 'application/x-ndjson' } });
    streams.push(out);
    for (let i = 0; i < CHUNKS && !out.closed; i++) await out.write(CHUNK);
    out.end();
  });
  const port = await gateway.listen('127.0.0.1', 0);
  base = `http://127.0.0.1:${port}`;
  admin = (await tokens.issue({ subject: 'admin', tenants: { '*': 'admin' }, ttlMs: 60_000 })).token;
  reader = (await tokens.issue({ subject: 'reader', tenants: { acme: 'read' }, ttlMs: 60_000 })).token;
});
afterAll(() => gateway?.stopListening());

describe('router', () => {
  it('decodes named parameters and the query', async () => {
    const response = await httpJson(`${base}/api/v1/tenants/acme/watchers/web%2D1?filter=a%3Db&x=1&x=2`, { token: reader });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ params: { t: 'acme', w: 'web-1' }, query: { filter: 'a=b', x: '1' } });
  });

  it('prefers a literal segment over a parameter whatever the registration order', async () => {
    expect((await httpJson(`${base}/api/v1/tenants/acme/watchers/special`, { token: reader })).body).toEqual({ literal: true });
  });

  it('enforces roles through requireRole', async () => {
    const denied = await httpJson(`${base}/api/v1/tenants/acme/watchers/web/stop`, { method: 'POST', token: reader });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toBe('reader has role read on tenant acme; this needs operate');
    const badName = await httpJson(`${base}/api/v1/tenants/Not.Valid/watchers/web`, { token: admin });
    expect(badName.status).toBe(400);
  });

  it('reads expectedRevision from If-Match or the body, and maps a conflict to 409 with the current revision', async () => {
    const url = `${base}/api/v1/tenants/acme/watchers/web/stop`;
    expect((await httpJson(url, { method: 'POST', token: admin, headers: { 'if-match': '"4"' } })).body).toEqual({ stopped: 'web', expected: 4 });
    expect((await httpJson(url, { token: admin, body: { expectedRevision: 4 } })).status).toBe(202);
    const stale = await httpJson(url, { method: 'POST', token: admin, headers: { 'if-match': '3' } });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'conflict', currentRevision: 4, expectedRevision: 3 });
    const bad = await httpJson(url, { method: 'POST', token: admin, headers: { 'if-match': 'yesterday' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/If-Match/);
  });

  it('answers unexpected errors with a bare 500 and CorralErrors with their status and details', async () => {
    const boom = await httpJson(`${base}/boom`, { token: admin });
    expect(boom.status).toBe(500);
    expect(boom.text).not.toContain('passwd');
    expect(boom.body.error.code).toBe('internal');
    const unavailable = await httpJson(`${base}/teapot`, { token: admin });
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.error).toEqual({ code: 'unavailable', message: 'not the leader', leader: 'http://other:8080' });
  });

  it('reads chunked bodies and answers 413 past 1 MiB even without a content-length', async () => {
    const post = (chunks: Buffer[]) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = request(`${base}/echo`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        for (const chunk of chunks) req.write(chunk);
        req.end();
      });
    const small = await post([Buffer.from('{"a":'), Buffer.from('[1,2,3]}')]);
    expect(small).toEqual({ status: 200, body: { bytes: 13, body: { a: [1, 2, 3] } } });
    const big = await post(Array.from({ length: 5 }, () => Buffer.alloc(256 * 1024, 0x20)));
    expect(big.status).toBe(413);
    expect(big.body.error).toMatchObject({ code: 'too-large', limit: 1024 * 1024 });
  });

  it('cuts off a body declared far beyond the limit at once', async () => {
    const status = await new Promise<number | string>((resolve) => {
      const req = request(`${base}/echo`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'content-length': String(1024 ** 3) } }, (res) => {
        resolve(res.statusCode!);
        res.resume();
      });
      req.on('error', () => resolve('connection closed'));
      req.write(Buffer.alloc(1024));
    });
    expect([413, 'connection closed']).toContain(status);
  });

  it('streams with backpressure: the producer waits while the client does not read, and nothing is lost', async () => {
    const received = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/stream`, { headers: { authorization: `Bearer ${admin}` } }, (res) => {
        expect(res.headers['content-type']).toBe('application/x-ndjson');
        res.pause();
        // While the client reads nothing, the producer must end up blocked on a write.
        waitFor(() => streams[0]?.backpressured, { description: 'the producer to wait for drain' })
          .then(() => {
            let bytes = 0;
            res.on('data', (chunk: Buffer) => (bytes += chunk.length));
            res.on('end', () => resolve(bytes));
            res.resume();
          })
          .catch(reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(received).toBe(CHUNK.length * CHUNKS);
  });

  it('stops producing when the client goes away mid-stream', async () => {
    const controller = new AbortController();
    const response = await fetch(`${base}/stream`, { headers: { authorization: `Bearer ${admin}` }, signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await waitFor(() => streams[1]?.closed, { description: 'the stream to see the abort' });
  });
});
