// The drain of a restarting node (docs/operations.md "Rolling restart on one machine"): after `stopListening({ drainMs })` a kept-alive
// connection's requests are still answered normally, with `Connection: close`, so the client's
// next request opens a new connection (to the successor on the shared port); only after the
// drain are requests answered 503.
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Authenticator, Gateway } from '../../gateway/index.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  socket: Socket;
}

const gateways: Gateway[] = [];
afterEach(() => {
  for (const gateway of gateways.splice(0)) gateway.stopListening();
});

async function serve(): Promise<{ gateway: Gateway; base: string; release: () => void; entered: Promise<void> }> {
  const gateway = new Gateway({ authenticator: new Authenticator({ mode: 'none' }), logger: pino({ level: 'silent' }), version: 'test', componentState: () => 'running' });
  gateways.push(gateway);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let enter!: () => void;
  const entered = new Promise<void>((resolve) => (enter = resolve));
  gateway.router.get('/hello', () => ({ hello: 'world' }), { auth: 'none' });
  gateway.router.get('/slow', async () => {
    enter();
    await held;
    return { slow: true };
  }, { auth: 'none' });
  const port = await gateway.listen('127.0.0.1', 0);
  return { gateway, base: `http://127.0.0.1:${port}`, release, entered };
}

function get(agent: Agent, url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, socket: req.socket! }));
    });
    req.on('error', reject);
    req.end();
  });
}
const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

describe('gateway drain before a restart', () => {
  it('serves requests on kept-alive connections with Connection: close while draining, then answers 503', async () => {
    const { gateway, base } = await serve();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await get(agent, `${base}/hello`);
    expect(before.status).toBe(200);
    expect(before.headers.connection).not.toBe('close');
    // the kept-alive connection is reused while the server runs
    expect((await get(agent, `${base}/hello`)).socket).toBe(before.socket);

    gateway.stopListening({ drainMs: 60_000, quietMs: 60_000 });
    const draining = await get(agent, `${base}/hello`);
    expect(draining.socket).toBe(before.socket);
    expect(draining.status).toBe(200);
    expect(JSON.parse(draining.body)).toEqual({ hello: 'world' });
    expect(draining.headers.connection).toBe('close');
    await closed(draining.socket);

    gateway.stopServing();
    // the listen socket is closed: a new connection is refused (it would reach the successor)
    await expect(get(agent, `${base}/hello`)).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });

  it('a request in flight when the drain starts is answered normally and closes its connection', async () => {
    const { gateway, base, release, entered } = await serve();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await get(agent, `${base}/hello`);
    const slow = get(agent, `${base}/slow`);
    await entered;
    gateway.stopListening({ drainMs: 60_000, quietMs: 60_000 });
    release();
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    agent.destroy();
  });

  it('the drain lasts while requests keep coming (up to drainMs) and ends after quietMs without one', async () => {
    const { gateway, base } = await serve();
    let ended = false;
    gateway.stopListening({ drainMs: 60_000, quietMs: 1000 });
    void gateway.drained().then(() => (ended = true));
    // requests keep arriving (as the router records them) for longer than quietMs
    const started = performance.now();
    let last = started;
    while (last - started < 1500) {
      gateway.router.lastRequestAt = last = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(ended).toBe(false);
    }
    await gateway.drained();
    expect(performance.now() - last).toBeGreaterThanOrEqual(1000 - 5);
    expect(gateway.router.closing).toBe(true);
    expect(gateway.router.draining).toBe(false);
  });

  it('after the drain, requests on kept-alive connections get 503 with Connection: close; without drainMs at once', async () => {
    for (const drainMs of [100, 0]) {
      const { gateway, base, release } = await serve();
      release();
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const first = await get(agent, `${base}/hello`);
      gateway.stopListening({ drainMs });
      await gateway.drained();
      expect(gateway.router.closing).toBe(true);
      const refused = await get(agent, `${base}/hello`);
      expect(refused.socket).toBe(first.socket);
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body)).toEqual({ error: { code: 'unavailable', message: 'the server is shutting down' } });
      expect(refused.headers.connection).toBe('close');
      agent.destroy();
    }
  });
});
