import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { removeTempDirs, runCorral, startServerProcess, type ServerProcess } from '../support/index.js';

// Issue 15 item 8: the README offers the subprotocol `corral.token.<jwt>` as a way to send a
// token (browsers cannot set headers on a websocket). Offered alone, the handshake failed:
// the server answered without a subprotocol, which a client that offered one must refuse
// (RFC 6455 4.1; browsers and `ws` do).

let server: ServerProcess;
let reader: string;

beforeAll(async () => {
  server = await startServerProcess({ config: { tenants: { acme: { watchers: {} } } } });
  const minted = await runCorral(['token', '--data-dir', server.dataDir, '--tenant', 'acme', '--role', 'read', '--ttl', '1h']);
  reader = minted.stdout.trim();
});
afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

interface Outcome {
  opened: boolean;
  protocol: string;
  error: string | null;
  messages: any[];
  closed: { code: number; reason: string } | null;
}

/** Opens /ws offering `protocols`, sends `frames` once open, and collects until `done` or the close. */
function session(protocols: string[], frames: object[], done: (messages: any[]) => boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/ws`, protocols);
    const outcome: Outcome = { opened: false, protocol: '', error: null, messages: [], closed: null };
    const timer = setTimeout(() => ws.terminate(), 10_000);
    ws.on('open', () => {
      outcome.opened = true;
      outcome.protocol = ws.protocol;
      for (const frame of frames) ws.send(JSON.stringify(frame));
    });
    ws.on('message', (data) => {
      outcome.messages.push(JSON.parse(String(data)));
      if (done(outcome.messages)) ws.close();
    });
    ws.on('error', (error) => (outcome.error = error.message));
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      outcome.closed = { code, reason: String(reason) };
      resolve(outcome);
    });
  });
}

describe('the token as the only subprotocol', () => {
  it('opens the socket, answered with that subprotocol, and speaks JSON', async () => {
    const outcome = await session([`corral.token.${reader}`], [{ op: 'ping', id: 'p' }], (messages) => messages.some((m) => m.op === 'pong'));
    expect(outcome.error).toBeNull();
    expect(outcome.opened).toBe(true);
    expect(outcome.protocol).toBe(`corral.token.${reader}`);
    expect(outcome.messages).toContainEqual(expect.objectContaining({ op: 'pong', id: 'p' }));
  });

  it('next to corral.v1.json, corral.v1.json is chosen (the token is not echoed)', async () => {
    const outcome = await session(['corral.v1.json', `corral.token.${reader}`], [{ op: 'ping', id: 'p' }], (messages) => messages.some((m) => m.op === 'pong'));
    expect(outcome.protocol).toBe('corral.v1.json');
    expect(outcome.messages).toContainEqual(expect.objectContaining({ op: 'pong', id: 'p' }));
  });

  it('a bad token offered alone is closed with 4001 and its reason, not a failed handshake', async () => {
    const outcome = await session(['corral.token.not-a-jwt'], [], () => false);
    expect(outcome.error).toBeNull();
    expect(outcome.opened).toBe(true);
    expect(outcome.closed?.code).toBe(4001);
    expect(outcome.closed?.reason).toMatch(/malformed token/);
  });
});
