/**
 * Corral's own error types. Driver and library errors are translated into these at the
 * boundary where they occur; every layer above (actors, projections, gateway) maps `code`
 * to its wire form (HTTP status, websocket error code, CLI exit code) in one place.
 *
 * They live in `store/` because it is the one folder every other folder may import.
 */
export type ErrorCode =
  | 'bad-request' // malformed or invalid input (HTTP 400)
  | 'unauthenticated' // no or invalid credentials (401)
  | 'forbidden' // valid credentials, not allowed (403)
  | 'not-found' // (404)
  | 'conflict' // optimistic concurrency conflict (409)
  | 'too-large' // payload over a size limit (413)
  | 'too-many-requests' // over a rate or connection limit (429)
  | 'unavailable' // not ready, shutting down, not the leader (503)
  | 'corrupt' // data on disk that is damaged or not ours (500; never wiped)
  | 'internal'; // a bug (500)

export class CorralError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

export const isCorralError = (error: unknown): error is CorralError => error instanceof CorralError;

export class InvalidArgumentError extends CorralError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('bad-request', message, details);
  }
}
export const isInvalidArgumentError = (error: unknown): error is InvalidArgumentError =>
  error instanceof InvalidArgumentError;

export class NotFoundError extends CorralError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('not-found', message, details);
  }
}
export const isNotFoundError = (error: unknown): error is NotFoundError => error instanceof NotFoundError;

/** A concurrency conflict: says which revision was expected and which was found. */
export class WrongExpectedRevisionError extends CorralError {
  readonly stream: string;
  readonly expected: string | number;
  /** the stream's current last revision, or -1 if it has no events */
  readonly actual: number;

  constructor(stream: string, expected: string | number, actual: number) {
    super(
      'conflict',
      `stream ${stream}: expected revision ${String(expected)}, found ${actual === -1 ? 'no stream' : `revision ${actual}`}`,
      { stream, expected, actual },
    );
    this.stream = stream;
    this.expected = expected;
    this.actual = actual;
  }
}
export const isWrongExpectedRevisionError = (error: unknown): error is WrongExpectedRevisionError =>
  error instanceof WrongExpectedRevisionError;

export class EventTooLargeError extends CorralError {
  constructor(size: number, limit: number) {
    super('too-large', `event of ${size} bytes exceeds the limit of ${limit} bytes`, { size, limit });
  }
}
export const isEventTooLargeError = (error: unknown): error is EventTooLargeError =>
  error instanceof EventTooLargeError;

/** The data directory is damaged or belongs to something else. Never wiped. */
export class CorruptStoreError extends CorralError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('corrupt', message, details, options);
  }
}
export const isCorruptStoreError = (error: unknown): error is CorruptStoreError =>
  error instanceof CorruptStoreError;

export class UnavailableError extends CorralError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('unavailable', message, details);
  }
}
export const isUnavailableError = (error: unknown): error is UnavailableError => error instanceof UnavailableError;

/** The store (or a subscription) was closed. */
export class StoreClosedError extends UnavailableError {
  constructor() {
    super('the event store is closed');
  }
}
