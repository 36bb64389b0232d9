import WebSocket from 'ws';
import { CorralError } from '../../store/index.js';
import type { ServerTarget } from './client.js';

/** The server has no native websocket (`/ws` answered 404): callers fall back to polling. */
export class NoWebsocket extends Error {}

export interface Subscription {
  /** resolves when the subscription ends normally (closed by `close()` or the server with 1000) */
  done: Promise<void>;
  close(): void;
}

/**
 * One `sub` on the native websocket `/ws` (README "Subscribe from a shell"): `onEvent` gets
 * every `event` frame in position order; a refused subscription, an abnormal close or a
 * failed handshake rejects `done`.
 */
export function subscribe(
  server: ServerTarget,
  frame: { select: string; from: number | 'now' | 'start'; filter?: string },
  onEvent: (event: Record<string, unknown>) => void,
  who: string,
): Subscription {
  const url = `${server.url.replace(/^http/, 'ws')}/ws`;
  const ws = new WebSocket(url, 'corral.v1.json', { headers: { authorization: `Bearer ${server.token}` } });
  let closing = false;
  const done = new Promise<void>((resolve, reject) => {
    ws.on('open', () => ws.send(JSON.stringify({ op: 'sub', id: 'cli', ...frame })));
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown> | Record<string, unknown>[];
      for (const item of Array.isArray(message) ? message : [message]) {
        if (item.op === 'event') onEvent(item);
        else if (item.op === 'error') {
          closing = true;
          ws.close(1000);
          reject(new CorralError('bad-request', `subscription refused: ${String(item.message ?? JSON.stringify(item))}`));
        } else if (item.op === 'lagged') process.stderr.write(`${who}: lagged at ${String(item.pos)}; the server catches up from the store\n`);
      }
    });
    ws.on('close', (code) => {
      if (code === 1000 || code === 1005 || closing) resolve();
      else reject(new CorralError('unavailable', `the websocket closed with ${code}`));
    });
    ws.on('unexpected-response', (_request, response) => {
      ws.terminate();
      reject(response.statusCode === 404 ? new NoWebsocket('no /ws on this server') : new CorralError('unavailable', `websocket ${url}: HTTP ${response.statusCode}`));
    });
    ws.on('error', (error) => (closing ? resolve() : reject(new CorralError('unavailable', `websocket ${url}: ${error.message}`))));
  });
  return {
    done,
    close: () => {
      closing = true;
      ws.close(1000);
    },
  };
}
