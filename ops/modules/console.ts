import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { registerConsoleRoutes } from '../../gateway/index.js';
import type { NodeModule } from '../node-module.js';

/**
 * The web console at `/` (README "HTTP"): the assets `npm install`/`npm run build` put in
 * dist/console, served with long caching for hashed names and none for index.html.
 * This module runs from dist/ops/modules/, so the assets are two folders up.
 */
export function consoleModule(): NodeModule {
  return {
    name: 'console',
    start(context) {
      const assetsDir = fileURLToPath(new URL('../../console/', import.meta.url));
      if (!existsSync(assetsDir)) context.log.warn({ assetsDir }, 'web console assets are missing: run `npm run build`');
      registerConsoleRoutes(context.gateway, { assetsDir });
    },
  };
}
