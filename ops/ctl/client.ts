import { createConnection } from 'node:net';
import { join } from 'node:path';
import { CorralError } from '../../store/index.js';
import { CONTROL_SOCKET, type ControlResponse } from './server.js';

/**
 * One request over a command socket (JSON lines: `{id, cmd, args}` -> `{ok, result | error}`),
 * resolving with its result or throwing its error as a CorralError. `unreachable` words the
 * error for a socket nobody listens on (ENOENT, ECONNREFUSED, EACCES).
 */
export function callControlSocket(
  socketPath: string,
  cmd: string,
  args: Record<string, unknown>,
  timeoutMs: number,
  unreachable: (error: NodeJS.ErrnoException) => string,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let buffer = '';
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      finish();
    };
    const timer = setTimeout(() => settle(() => reject(new CorralError('unavailable', `no answer from ${socketPath} within ${timeoutMs} ms`))), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ id: 1, cmd, args })}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      settle(() => {
        let response: ControlResponse;
        try {
          response = JSON.parse(buffer.slice(0, newline)) as ControlResponse;
        } catch {
          reject(new CorralError('internal', `unreadable answer from ${socketPath}`));
          return;
        }
        if (response.ok) resolve(response.result);
        else reject(new CorralError(response.error.code as never, response.error.message));
      });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const known = error.code === 'ENOENT' || error.code === 'ECONNREFUSED' || error.code === 'EACCES';
      settle(() => reject(new CorralError('unavailable', known ? unreachable(error) : `${socketPath}: ${error.message}`)));
    });
    socket.on('close', () => settle(() => reject(new CorralError('unavailable', `${socketPath} closed the connection without answering`))));
  });
}

/** Sends one command over `<dataDir>/corral.sock` and resolves with its result (or throws its error). */
export function sendControlCommand(dataDir: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<unknown> {
  const path = join(dataDir, CONTROL_SOCKET);
  return callControlSocket(path, cmd, args, timeoutMs, (error) =>
    error.code === 'EACCES'
      ? `permission denied on ${path}: only the user running the server may use it`
      : `no server is running on data directory ${dataDir} (${path}: ${error.code})`,
  );
}
