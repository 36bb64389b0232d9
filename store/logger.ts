/**
 * The one logging surface the rooms use: pino's `(object, message)` calls, so a pino logger
 * fits as it is. Here because store/ is the folder every other folder may import.
 */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

const ignore = (): void => undefined;
export const silentLogger: Logger = Object.freeze({ debug: ignore, info: ignore, warn: ignore, error: ignore });
