import { createConnection } from 'node:net';
import { join } from 'node:path';
import { CorralError } from '../../store/index.js';
import { CONTROL_SOCKET, type ControlResponse } from './server.js';

/** Sends one command over `<dataDir>/corral.sock` and resolves with its result (or throws its error). */
export function sendControlCommand(dataDir: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<unknown> {
  const path = join(dataDir, CONTROL_SOCKET);
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new CorralError('unavailable', `no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ id: 1, cmd, args })}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      socket.end();
      let response: ControlResponse;
      try {
        response = JSON.parse(buffer.slice(0, newline)) as ControlResponse;
      } catch {
        reject(new CorralError('internal', `unreadable answer from ${path}`));
        return;
      }
      if (response.ok) resolve(response.result);
      else reject(new CorralError(response.error.code as never, response.error.message));
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
          ? `no server is running on data directory ${dataDir} (${path}: ${error.code})`
          : error.code === 'EACCES'
            ? `permission denied on ${path}: only the user running the server may use it`
            : `${path}: ${error.message}`;
      reject(new CorralError('unavailable', why));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!buffer.includes('\n')) reject(new CorralError('unavailable', `${path} closed the connection without answering`));
    });
  });
}
