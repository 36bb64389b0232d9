/** The logging surface the minion needs: pino's `(object, message)` calls, so a pino logger fits. */
export interface MinionLogger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

const ignore = (): void => {};
export const silentLogger: MinionLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
