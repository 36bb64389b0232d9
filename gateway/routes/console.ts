import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Gateway } from '../server.js';
import { HttpReply } from '../http/index.js';
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

interface Asset {
  body: Buffer;
  contentType: string;
}

/**
 * The web console (DESIGN.md §6): `GET /` and `/index.html` uncached (so a new build is
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

  const serveIndex = (): HttpReply => {
    if (index === null) throw new CorralError('unavailable', `the web console is not built (no ${indexFile}); run npm run build`);
    return HttpReply.text(index, CONTENT_TYPES['.html'], 200, {
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
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
