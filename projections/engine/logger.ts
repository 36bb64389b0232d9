/** The slice of pino's API the projections use (a pino logger fits as is). */
export interface ProjectionLogger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

const nothing = (): void => undefined;
export const noopLogger: ProjectionLogger = { debug: nothing, info: nothing, warn: nothing, error: nothing };
