import { CorralError } from '../../store/index.js';
import { HttpStatusError } from './errors.js';

/**
 * Refusals that keep a browser from becoming a caller on behalf of another site (README
 * "HTTP", "Requests from browsers"). A page on any site may send its visitor's browser to
 * this server with "simple" requests (text/plain, form or untyped bodies, no preflight),
 * and with DNS rebinding it may even make the server look like its own origin. Only what
 * the browser puts in the headers tells such requests apart: Content-Type, Origin, Host.
 */

/** Which bodies a route reads; any other content type is refused before the body is read. */
export type BodyKind = 'json' | 'json-or-form';

const FORM = 'application/x-www-form-urlencoded';
const LOOPBACK_AUTHORITY = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i;

export const mediaTypeOf = (contentType: string | undefined): string => (contentType ?? '').split(';')[0]!.trim().toLowerCase();
export const isJsonMediaType = (type: string): boolean => type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
export const isFormMediaType = (type: string): boolean => type === FORM;

/**
 * A body must say it is JSON (or, where the route reads forms, a urlencoded form). A web
 * page can send text/plain, a form or an untyped body to any site without asking first;
 * it cannot send `application/json` cross-site without a CORS preflight, which this server
 * never grants. 415, before the body is read.
 */
export function refuseUnexpectedBodyType(method: string, path: string, contentType: string | undefined, kind: BodyKind): void {
  const type = mediaTypeOf(contentType);
  if (isJsonMediaType(type) || (kind === 'json-or-form' && isFormMediaType(type))) return;
  const wanted = kind === 'json-or-form' ? `application/json or ${FORM}` : 'application/json';
  const got = type === '' ? 'the request has no Content-Type' : `got ${JSON.stringify(type)}`;
  throw new HttpStatusError(
    415,
    'unsupported-media-type',
    'bad-request',
    `${method.toUpperCase()} ${path} reads a JSON body: send Content-Type: ${wanted} (${got})`,
    { contentType: type === '' ? null : type },
  );
}

/**
 * A request that changes something and carries an `Origin` must come from this server's
 * own pages (the console): browsers send `Origin` on every cross-origin POST, PUT, PATCH
 * and DELETE (and `null` from sandboxed or privacy-stripped contexts), and clients that are
 * not browsers send none. "Own" means the same host and port as the request's `Host`, or
 * its `X-Forwarded-Host` behind a proxy (a page cannot set that header on a request it
 * sends without a preflight).
 */
export function refuseForeignOrigin(headers: Record<string, string>): void {
  const origin = headers.origin;
  if (origin === undefined || isOwnOrigin(origin, headers)) return;
  const own = headers.host === undefined ? 'this server' : `this server's origin (${headers.host})`;
  throw new CorralError(
    'forbidden',
    `cross-origin request refused: Origin ${origin} is not ${own}; commands are accepted from the server's own pages, or from clients that send no Origin (curl, the CLI)`,
    { origin },
  );
}

function isOwnOrigin(origin: string, headers: Record<string, string>): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // `null`, or not an origin at all
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const candidates = [headers.host, headers['x-forwarded-host']?.split(',')[0]];
  return candidates.some((authority) => authority !== undefined && sameAuthority(url, authority.trim()));
}

/** `Host: example.com` is `https://example.com` and `http://example.com:80` alike: compare with the origin's default port. */
function sameAuthority(origin: URL, authority: string): boolean {
  try {
    return new URL(`${origin.protocol}//${authority}`).host === origin.host;
  } catch {
    return false;
  }
}

/**
 * With `auth: none` every caller is admin, and the server listens on loopback only. A web
 * page still reaches it through DNS rebinding: a name of the attacker's that resolves to
 * 127.0.0.1 makes the server the page's own origin, so neither the content type nor the
 * Origin refuses it; only `Host` shows the foreign name. A request without `Host` comes from
 * no browser and is served.
 */
export function refuseNonLoopbackHost(headers: Record<string, string>): void {
  const host = headers.host;
  if (host === undefined || LOOPBACK_AUTHORITY.test(host.trim())) return;
  throw new CorralError(
    'forbidden',
    `Host ${JSON.stringify(host)} is not a loopback name: with auth: none this server answers only requests for localhost, 127.0.0.1 or [::1] (any port), so that no web page can reach it through DNS rebinding; configure auth to serve other names`,
    { host },
  );
}
