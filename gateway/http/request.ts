import type { HttpRequest, HttpResponse } from '../uws.js';
import { CorralError, InvalidArgumentError, type ExpectedRevision } from '../../store/index.js';
import { isFormMediaType, isJsonMediaType, mediaTypeOf } from './cross-site.js';

/** Default request body cap (README "HTTP"). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Everything a handler may need from the uWS request, copied before the first await. */
export interface CopiedRequest {
  method: string;
  path: string;
  rawQuery: string;
  headers: Record<string, string>;
  remoteAddress: string;
}

/** uWS frees `req` when the handler returns: read it all synchronously, here. */
export function copyRequest(res: HttpResponse, req: HttpRequest): CopiedRequest {
  const headers: Record<string, string> = {};
  req.forEach((key, value) => {
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  });
  return {
    method: req.getMethod().toLowerCase(),
    path: req.getUrl(),
    rawQuery: req.getQuery() ?? '',
    headers,
    remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
  };
}

export const requestHasBody = (headers: Record<string, string>): boolean =>
  (headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined;

/**
 * Collects the body. Must be called synchronously inside the uWS handler (onData has to be
 * attached before returning). A body over `limit` is not buffered: it is read and dropped
 * up to a drain cap, so the 413 reaches a client that is still sending (answering early
 * and closing would make most clients fail with EPIPE before they read the status). Only a
 * body beyond the cap (declared or sent) is cut off at once with the connection.
 */
export function readBody(res: HttpResponse, headers: Record<string, string>, limit: number): Promise<Buffer> {
  try {
    refuseDeclaredBody(headers, limit);
  } catch (error) {
    return Promise.reject(error);
  }
  const drainCap = drainCapFor(limit);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    res.onData((chunk, isLast) => {
      if (settled) return;
      size += chunk.byteLength;
      if (size > drainCap) {
        settled = true;
        reject(tooLarge(size, limit, false));
        return;
      }
      // uWS neuters the ArrayBuffer after this callback returns: copy what we keep.
      if (size <= limit) chunks.push(Buffer.from(new Uint8Array(chunk).slice()));
      if (!isLast) return;
      settled = true;
      if (size > limit) reject(tooLarge(size, limit, true));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
  });
}

const drainCapFor = (limit: number): number => Math.max(limit * 8, 8 * 1024 * 1024);

/**
 * uWS's HTTP parser reads at most 9 digits of Content-Length: with more (1 GB and up) it
 * drops the connection as soon as the request handler returns (uWebSockets issue 1693, fixed
 * in later releases than the Node 20 build we use), discarding a response still in its cork
 * buffer. One larger than that buffer (16 KiB) is written to the socket at once, so the 413
 * for such a request is padded past it (see `responseBodyFor`).
 */
const UWS_MAX_CONTENT_LENGTH = 999_999_999;
const UWS_CORK_BUFFER_BYTES = 16 * 1024;

/**
 * Refuses, from the headers alone, a body `readBody` would not read: an invalid
 * Content-Length (400), or one beyond the drain cap (413, closing the connection). Called
 * synchronously in the uWS handler, so that the answer goes out before any body is sent
 * (a client waiting on `Expect: 100-continue` sends none).
 */
export function refuseDeclaredBody(headers: Record<string, string>, limit: number): void {
  const text = headers['content-length'];
  if (text === undefined) return;
  const declared = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(declared)) throw new InvalidArgumentError(`invalid content-length ${JSON.stringify(text)}: expected a number of bytes`);
  if (declared <= drainCapFor(limit)) return;
  const error = tooLarge(declared, limit, false);
  if (declared > UWS_MAX_CONTENT_LENGTH) Object.defineProperty(error, 'parserDropsConnection', { value: true, enumerable: false });
  throw error;
}

/** The JSON text of an error response; see UWS_MAX_CONTENT_LENGTH for the padding (JSON allows trailing whitespace). */
export function responseBodyFor(error: unknown, body: unknown): string {
  const json = JSON.stringify(body);
  return (error as { parserDropsConnection?: boolean } | null)?.parserDropsConnection === true ? json.padEnd(UWS_CORK_BUFFER_BYTES + 1) : json;
}

/** Whether the connection can stay open after this error (the whole body was read). */
export const bodyWasDrained = (error: unknown): boolean => (error as { bodyDrained?: boolean } | null)?.bodyDrained === true;

function tooLarge(size: number, limit: number, drained: boolean): CorralError {
  const error = new CorralError('too-large', `request body of ${size} bytes exceeds the limit of ${limit} bytes`, { limit });
  Object.defineProperty(error, 'bodyDrained', { value: drained, enumerable: false });
  return error;
}

/**
 * Parses a body by its content type: JSON or a urlencoded form. The router has already
 * refused any other type for the route (415, gateway/http/cross-site.ts).
 */
export function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  const type = mediaTypeOf(contentType);
  if (isFormMediaType(type)) {
    return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  }
  if (isJsonMediaType(type)) {
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch (error) {
      throw new InvalidArgumentError(`malformed JSON body: ${(error as Error).message}`);
    }
  }
  throw new CorralError('bad-request', `unsupported content type ${JSON.stringify(type)}: send application/json`, {
    contentType: type,
  });
}

/** First value of each query parameter (decoded), plus the full URLSearchParams. */
export function parseQuery(rawQuery: string): { query: Record<string, string>; searchParams: URLSearchParams } {
  const searchParams = new URLSearchParams(rawQuery);
  const query: Record<string, string> = {};
  for (const [key, value] of searchParams) if (!(key in query)) query[key] = value;
  return { query, searchParams };
}

/**
 * `expectedRevision` from `If-Match` (`5`, `"5"`, `W/"5"`, or `*` = the stream exists)
 * or from a body field; the header wins. Returns undefined when neither is given.
 */
export function parseExpectedRevision(ifMatch: string | undefined, bodyValue?: unknown): ExpectedRevision | undefined {
  if (ifMatch !== undefined && ifMatch.trim() !== '') {
    const text = ifMatch.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
    if (text === '*') return 'streamExists';
    if (/^\d{1,15}$/.test(text)) return Number(text);
    throw new InvalidArgumentError(`invalid If-Match ${JSON.stringify(ifMatch)}: expected a revision number or *`, {
      field: 'If-Match',
    });
  }
  if (bodyValue === undefined || bodyValue === null) return undefined;
  if (typeof bodyValue === 'number' && Number.isInteger(bodyValue) && bodyValue >= 0) return bodyValue;
  if (bodyValue === 'any' || bodyValue === 'noStream' || bodyValue === 'streamExists') return bodyValue;
  throw new InvalidArgumentError(
    `invalid expectedRevision ${JSON.stringify(bodyValue)}: expected an integer >= 0, "any", "noStream" or "streamExists"`,
    { field: 'expectedRevision' },
  );
}
