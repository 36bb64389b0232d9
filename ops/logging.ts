import { pino, type Logger, type LevelWithSilent } from 'pino';
import { PinoPretty } from 'pino-pretty';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export type { Logger };

/**
 * pino JSON logs on stdout (one object per line, for log shippers); pretty-printed by
 * pino-pretty when stdout is a terminal.
 */
export function createLogger(options: { level?: string; pretty?: boolean; name?: string } = {}): Logger {
  const level = (options.level ?? process.env.CORRAL_LOG_LEVEL ?? 'info') as LevelWithSilent;
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  const base = { level, name: options.name ?? 'corral', base: { pid: process.pid } };
  if (!pretty) return pino(base);
  // In-process (not a worker transport): nothing is lost when the process exits right after logging.
  return pino(base, PinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', sync: true }));
}
