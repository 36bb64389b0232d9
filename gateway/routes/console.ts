import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Gateway } from '../server.js';
import { HttpReply, type RequestContext } from '../http/index.js';
import { CorralError } from '../../store/index.js';

export interface ConsoleRouteOptions {
  /** the console build (`dist/console`: index.html and content-hashed assets) */
  assetsDir: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** Hashed names only (`app.1f2e3d4c5b6a.js`): nothing else in the folder is served as an asset. */
const ASSET_NAME = /^[A-Za-z0-9_-]+\.[0-9a-f]{8,64}\.[a-z0-9]+$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** A Host header that is a host name or address with an optional port, nothing else. */
const PLAIN_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The console's Content-Security-Policy (README "Requests from browsers"): its own script and styles
 * only (no inline code), its API and websocket on this server only, never framed (the page
 * holds a token: a framing site could click its buttons). `'self'` covers ws: and wss: only
 * in newer browsers, so the page's host is named for them; a Host that is not a plain name
 * is left out rather than copied into the header.
 */
export function consolePolicy(host: string | undefined): string {
  const sockets = host !== undefined && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

interface Asset {
  body: Buffer;
  contentType: string;
}

/**
 * The web console (README "HTTP"): `GET /` and `/index.html` uncached (so a new build is
 * seen at once), content-hashed assets cached for a year. Everything is read into memory
 * at registration: requests never touch the file system, and only the names of files that
 * were in the folder are routes, so no path can escape it. The console
 * needs no auth to load; the app itself carries the token on every API call.
 */
export function registerConsoleRoutes(gateway: Gateway, { assetsDir }: ConsoleRouteOptions): { assets: string[] } {
  const indexFile = join(assetsDir, 'index.html');
  const index = existsSync(indexFile) ? readFileSync(indexFile) : null;
  const assets = new Map<string, Asset>();
  if (existsSync(assetsDir)) {
    for (const name of readdirSync(assetsDir)) {
      const type = CONTENT_TYPES[extname(name)];
      if (!ASSET_NAME.test(name) || type === undefined) continue;
      assets.set(name, { body: readFileSync(join(assetsDir, name)), contentType: type });
    }
  }
  if (index === null) gateway.log.warn({ assetsDir }, 'console assets are missing (run npm run build): GET / answers 503');

  const serveIndex = (ctx: RequestContext): HttpReply => {
    if (index === null) throw new CorralError('unavailable', `the web console is not built (no ${indexFile}); run npm run build`);
    return HttpReply.text(index, CONTENT_TYPES['.html'], 200, {
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy': consolePolicy(ctx.headers.host),
      // for browsers without CSP frame-ancestors
      'x-frame-options': 'DENY',
    });
  };
  gateway.router.get('/', serveIndex, { auth: 'none' });
  gateway.router.get('/index.html', serveIndex, { auth: 'none' });
  // One literal route per file that was in the folder: any other name is the router's 404,
  // and no request path can reach the file system.
  for (const [name, asset] of assets) {
    gateway.router.get(
      `/${name}`,
      () => HttpReply.text(asset.body, asset.contentType, 200, { 'cache-control': IMMUTABLE, 'x-content-type-options': 'nosniff' }),
      { auth: 'none' },
    );
  }
  return { assets: [...assets.keys()] };
}
