#!/usr/bin/env node
// The `corral` command. Runs the build output in dist/ (made by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/ops/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('corral: dist/ is missing; run `npm run build` (npm install does it too)');
  process.exit(1);
}
process.setSourceMapsEnabled?.(true);
const { main } = await import(cli.href);
await main(process.argv.slice(2));
