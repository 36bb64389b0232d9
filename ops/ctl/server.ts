import { chmodSync, lstatSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { CorralError, isCorralError } from '../../store/index.js';

export const CONTROL_SOCKET = 'corral.sock';
/** one request line at most (a command socket carries small commands) */
const MAX_LINE_BYTES = 64 * 1024;

/** A command: its arguments (validated by the handler) -> a JSON-able result. */
export type ControlHandler = (args: Record<string, unknown>) => Promise<unknown> | unknown;

export interface ControlRequest {
  id?: string | number;
  cmd: string;
  args?: Record<string, unknown>;
}

export type ControlResponse =
  | { id?: string | number; ok: true; result: unknown }
  | { id?: string | number; ok: false; error: { code: string; message: string } };

export interface ControlSocket {
  path: string;
  close(): Promise<void>;
}

/**
 * The command socket `<dataDir>/corral.sock` (DESIGN.md §1, §13): a unix socket speaking
 * JSON lines, one request `{"id","cmd","args"}` -> one response `{"id","ok","result"|"error"}`.
 * Only the owner can connect: the socket is mode 0600 inside the 0700 data directory, which
 * is the whole authentication (like supervisord's unix socket). A second server on the same
 * data directory (rolling restart) takes the path over; each removes the socket file on
 * stop only while it is still its own (same inode).
 */
export async function openControlSocket(path: string, handlers: Record<string, ControlHandler>, log: Logger): Promise<ControlSocket> {
  try {
    if (lstatSync(path).isSocket()) rmSync(path, { force: true });
    else throw new CorralError('unavailable', `${path} exists and is not a socket: refusing to replace it`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    serve(socket, handlers, log);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  const inode = statSync(path).ino;
  return {
    path,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      try {
        if (statSync(path).ino === inode) rmSync(path, { force: true });
      } catch {
        // already removed (or replaced and removed by its new owner)
      }
    },
  };
}

function serve(socket: Socket, handlers: Record<string, ControlHandler>, log: Logger): void {
  let buffer = '';
  let chain = Promise.resolve();
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    if (buffer.length > MAX_LINE_BYTES && !buffer.includes('\n')) {
      socket.end(`${JSON.stringify({ ok: false, error: { code: 'too-large', message: `request line over ${MAX_LINE_BYTES} bytes` } })}\n`);
      return;
    }
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line === '') continue;
      // answered in request order
      chain = chain.then(async () => {
        const response = await handle(line, handlers, log);
        if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
      });
    }
  });
}

async function handle(line: string, handlers: Record<string, ControlHandler>, log: Logger): Promise<ControlResponse> {
  let request: ControlRequest;
  try {
    request = JSON.parse(line) as ControlRequest;
  } catch (error) {
    return { ok: false, error: { code: 'bad-request', message: `not a JSON line: ${(error as Error).message}` } };
  }
  const id = request?.id;
  try {
    if (typeof request !== 'object' || request === null || typeof request.cmd !== 'string') {
      throw new CorralError('bad-request', 'a request is {"cmd": "<command>", "args": {...}}');
    }
    const handler = Object.hasOwn(handlers, request.cmd) ? handlers[request.cmd] : undefined;
    if (!handler) throw new CorralError('bad-request', `unknown command ${JSON.stringify(request.cmd.slice(0, 60))}: expected one of ${Object.keys(handlers).join(', ')}`);
    const args = request.args ?? {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new CorralError('bad-request', 'args must be an object');
    return { id, ok: true, result: (await handler(args)) ?? null };
  } catch (error) {
    if (isCorralError(error)) return { id, ok: false, error: { code: error.code, message: error.message } };
    log.error({ err: error, cmd: request.cmd }, 'control command failed');
    return { id, ok: false, error: { code: 'internal', message: (error as Error).message ?? String(error) } };
  }
}
