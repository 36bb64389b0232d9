import { createConnection } from 'node:net';
import { CorralError } from '../../store/index.js';

/**
 * One request over a per-node command socket (`<dataDir>/nodes/<pid>.sock`): the same JSON
 * lines as `<dataDir>/corral.sock` (ops/ctl), but addressed to one process. During a
 * rolling restart `corral.sock` belongs to whichever server opened it last.
 */
export function callNode(socketPath: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let buffer = '';
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(() => settle(() => reject(new CorralError('unavailable', `no answer from ${socketPath} within ${timeoutMs} ms`))), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ id: 1, cmd, args })}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      settle(() => {
        let response: { ok: boolean; result?: unknown; error?: { code: string; message: string } };
        try {
          response = JSON.parse(buffer.slice(0, newline));
        } catch {
          reject(new CorralError('internal', `unreadable answer from ${socketPath}`));
          return;
        }
        if (response.ok) resolve(response.result);
        else reject(new CorralError((response.error?.code ?? 'internal') as never, response.error?.message ?? 'failed'));
      });
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      settle(() => reject(new CorralError('unavailable', `${socketPath}: ${error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? 'that server is not running' : error.message}`))),
    );
    socket.on('close', () => settle(() => reject(new CorralError('unavailable', `${socketPath} closed the connection without answering`))));
  });
}
