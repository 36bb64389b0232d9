import { STATUS_CODES } from 'node:http';
import { CorralError, isCorralError, isWrongExpectedRevisionError, type ErrorCode } from '../../store/index.js';

/** The one mapping from our error codes to HTTP statuses (README "HTTP"). */
export const HTTP_STATUS_BY_CODE: Record<ErrorCode, number> = {
  'bad-request': 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  'too-many-requests': 429,
  unavailable: 503,
  corrupt: 500,
  internal: 500,
};

/**
 * A refusal that only HTTP has a status for (415 Unsupported Media Type): it answers with
 * `status` and `httpCode` in the body, and counts as `code` wherever our codes are used.
 */
export class HttpStatusError extends CorralError {
  constructor(
    readonly status: number,
    readonly httpCode: string,
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, details);
  }
}

export interface HttpErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}

export interface HttpErrorResponse {
  status: number;
  body: HttpErrorBody;
  /** a bug or damage: the caller logs it; the client sees no internals */
  internal: boolean;
  /** extra response headers: `Retry-After` on a 429 that says when to retry */
  headers: Record<string, string>;
}

/**
 * Turns anything thrown by a handler into the uniform error body. Client errors carry
 * their details (they are ours and safe to show: field names, revisions); server errors
 * carry a fixed message so no stack, path or driver text leaks.
 */
export function errorToHttp(error: unknown): HttpErrorResponse {
  if (isCorralError(error) && error.code !== 'internal' && error.code !== 'corrupt') {
    const status = error instanceof HttpStatusError ? error.status : (HTTP_STATUS_BY_CODE[error.code] ?? 500);
    const code = error instanceof HttpStatusError ? error.httpCode : error.code;
    const body: HttpErrorBody = { error: { ...(error.details ?? {}), code, message: error.message } };
    if (isWrongExpectedRevisionError(error)) {
      body.error.currentRevision = error.actual;
      body.error.expectedRevision = error.expected;
    }
    const retryAfter = error.details?.retryAfterSeconds;
    const headers: Record<string, string> = status === 429 && typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {};
    return { status, body, internal: false, headers };
  }
  return {
    status: 500,
    body: { error: { code: 'internal', message: 'internal server error (see the server log)' } },
    internal: true,
    headers: {},
  };
}

export const statusLine = (status: number): string => `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
