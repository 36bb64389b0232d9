import { chmodSync, existsSync, lstatSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
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
  /** false while another live server holds the path */
  readonly bound: boolean;
  close(): Promise<void>;
}

/** Is a server answering on this socket path? (A file left by a crashed server refuses connections.) */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * The command socket `<dataDir>/corral.sock` (README "What it is"; docs/operations.md): a unix socket speaking
 * JSON lines, one request `{"id","cmd","args"}` -> one response `{"id","ok","result"|"error"}`.
 * Only the owner can connect: the socket is mode 0600 inside the 0700 data directory, which
 * is the whole authentication (like supervisord's unix socket).
 *
 * A socket file left by a crashed server is replaced. While another live server of the same
 * data directory holds the path (a rolling restart's successor starts before its predecessor
 * stops), this one waits and binds once the path is free, so `corral ctl` always reaches one
 * live server and a closing server only ever removes its own socket (libuv unlinks the path
 * it bound when the server closes).
 */
export async function openControlSocket(path: string, handlers: Record<string, ControlHandler>, log: Logger, retryMs = 1000): Promise<ControlSocket> {
  try {
    if (!lstatSync(path).isSocket()) throw new CorralError('unavailable', `${path} exists and is not a socket: refusing to replace it`);
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
  let bound = false;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;

  const tryBind = async (): Promise<boolean> => {
    if (existsSync(path)) {
      if (await socketIsLive(path)) return false;
      rmSync(path, { force: true });
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    bound = true;
    return true;
  };
  const retry = (): void => {
    timer = setTimeout(() => {
      if (closed) return;
      tryBind().then(
        (ok) => (ok ? log.info({ path }, 'command socket bound (the previous server released it)') : retry()),
        (error: unknown) => (log.warn({ err: error, path }, 'command socket: bind failed; retrying'), retry()),
      );
    }, retryMs);
    timer.unref();
  };

  if (!(await tryBind())) {
    log.info({ path }, 'another live server holds the command socket: binding once it is released');
    retry();
  }
  return {
    path,
    get bound() {
      return bound;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (!bound) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
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
