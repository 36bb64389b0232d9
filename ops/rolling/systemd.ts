import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

/**
 * systemd `Type=notify` support without a native binding: when the service manager gave us
 * `NOTIFY_SOCKET`, `systemd-notify --ready --pid=<us>` tells it this process is ready *and*
 * is now the service's main process. That second half is what lets a rolling restart run
 * under systemd: the successor (started by the old server, so inside the unit) announces
 * itself as MAINPID before it becomes visible to `corral ctl restart --rolling`, hence
 * before the old one is told to exit, and systemd keeps supervising the unit instead of
 * seeing its main process exit. Needs `NotifyAccess=all` (the message comes from the
 * systemd-notify child), as ops/deploy/systemd/corral.service sets. Resolves once sent
 * (or failed: that is logged, never fatal).
 */
export function notifyServiceManager(status: string, log: Logger): Promise<void> {
  if (!process.env.NOTIFY_SOCKET) return Promise.resolve();
  return new Promise((resolve) => {
    execFile('systemd-notify', ['--ready', `--pid=${process.pid}`, `STATUS=${status}`], { timeout: 10_000 }, (error) => {
      if (error) log.warn({ err: error }, 'NOTIFY_SOCKET is set but systemd-notify failed: systemd will not learn that this server is ready');
      else log.info({ mainPid: process.pid }, 'told the service manager: ready, and this is the main process');
      resolve();
    });
  });
}
