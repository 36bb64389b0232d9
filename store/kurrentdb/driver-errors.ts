import {
  CorralError,
  EventTooLargeError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  WrongExpectedRevisionError,
  isCorralError,
} from '../errors.js';
import type { ExpectedRevision } from '../types.js';
import { fromCurrentStreamState } from './mapping.js';

/**
 * Translates errors of `@kurrent/kurrentdb-client` into Corral's error types at the
 * boundary (the only place driver errors are looked at). The client reports its errors
 * either as its own `CommandError`s (a string `type`, e.g. `wrong-expected-version`) or,
 * for some gRPC paths, as raw gRPC errors (a numeric status `code`, e.g. 14 UNAVAILABLE);
 * both are handled.
 */
export interface ErrorContext {
  /** Corral stream name the operation was about */
  stream?: string;
  /** the expected revision the caller gave, reported back in a conflict */
  expected?: ExpectedRevision;
  /** encoded bytes of the append, reported when the server refuses the size */
  size?: number;
  /** what was being done, for the message: `append to tenant-acme`, `read $all` */
  operation?: string;
}

/** gRPC status codes that mean "the server cannot be reached or did not answer in time". */
const GRPC_UNAVAILABLE_CODES = new Set([1 /* CANCELLED */, 4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

const UNAVAILABLE_TYPES = new Set(['unavailable', 'timeout', 'deadline-exceeded', 'not-leader', 'cancelled']);

const TOO_LARGE_TYPES = new Set(['maximum-append-size-exceeded', 'append-record-size-exceeded', 'transaction-max-size-exceeded']);

interface DriverErrorShape {
  type?: unknown;
  code?: unknown;
  message?: unknown;
  name?: unknown;
  actualState?: unknown;
  maxAppendSize?: unknown;
  maxSize?: unknown;
}

export function translateDriverError(error: unknown, context: ErrorContext = {}): Error {
  if (isCorralError(error)) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as DriverErrorShape;
  const message = typeof e.message === 'string' ? e.message : String(error);
  const what = context.operation ?? 'KurrentDB operation';
  const type = typeof e.type === 'string' ? e.type : undefined;

  if (type === 'wrong-expected-version') {
    return new WrongExpectedRevisionError(context.stream ?? '?', context.expected ?? 'any', fromCurrentStreamState(e.actualState));
  }
  if (type !== undefined && TOO_LARGE_TYPES.has(type)) {
    const limit = typeof e.maxAppendSize === 'number' ? e.maxAppendSize : typeof e.maxSize === 'number' ? e.maxSize : 0;
    return new EventTooLargeError(context.size ?? limit + 1, limit);
  }
  if ((type !== undefined && UNAVAILABLE_TYPES.has(type)) || (typeof e.code === 'number' && GRPC_UNAVAILABLE_CODES.has(e.code)) ||
    /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|No connection established|Failed to discover/i.test(message)) {
    return withCause(new UnavailableError(`${what}: KurrentDB is unavailable: ${message}`, { driverError: type ?? e.code }), error);
  }
  if (type === 'access-denied') {
    // our own credentials lack a permission: a server configuration problem, not the caller's
    return withCause(
      new UnavailableError(`${what}: KurrentDB denied access (check the user in the connection string): ${message}`, { driverError: type }),
      error,
    );
  }
  if (type === 'stream-deleted' || type === 'stream-tombstoned' || type === 'stream-not-found') {
    return withCause(new NotFoundError(`${what}: stream ${context.stream ?? ''} was deleted in KurrentDB`, { stream: context.stream }), error);
  }
  if (type === 'invalid-argument') {
    return withCause(new InvalidArgumentError(`${what}: KurrentDB rejected the request: ${message}`, { stream: context.stream }), error);
  }
  return new CorralError('internal', `${what}: unexpected KurrentDB error: ${message}`, { driverError: type ?? e.code ?? e.name }, {
    cause: error,
  });
}

function withCause<E extends Error>(translated: E, cause: unknown): E {
  Object.defineProperty(translated, 'cause', { value: cause, enumerable: false, configurable: true, writable: true });
  return translated;
}

/** A read of a stream that does not exist (or was deleted): an empty result, not an error. */
export function isMissingStream(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return type === 'stream-not-found' || type === 'no-stream' || type === 'stream-deleted';
}
