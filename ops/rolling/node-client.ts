import { callControlSocket } from '../ctl/index.js';

/**
 * One request over a per-node command socket (`<dataDir>/nodes/<pid>.sock`): the same JSON
 * lines as `<dataDir>/corral.sock` (ops/ctl), but addressed to one process. During a
 * rolling restart `corral.sock` belongs to whichever server opened it last.
 */
export function callNode(socketPath: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<unknown> {
  return callControlSocket(socketPath, cmd, args, timeoutMs, (error) =>
    error.code === 'EACCES' ? `${socketPath}: permission denied` : `${socketPath}: that server is not running`,
  );
}
