#!/usr/bin/env node
// Builds what `corral` runs: every TypeScript source of the runtime folders transpiled
// file-by-file to dist/ (same layout, ESM, linked source maps), then the web console
// assets (when present). Type checking is separate (`npm run typecheck`): esbuild only
// strips types, which keeps this step well under a second so it can run at install time
// and before every test run.
import { build } from 'esbuild';
import { readdirSync, statSync, rmSync, existsSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sourceFolders = ['store', 'actors', 'projections', 'gateway', 'ops'];
const outdir = join(root, 'dist');

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const stat = statSync(path);
    if (stat.isDirectory()) collect(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.spec.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const started = Date.now();
const entryPoints = sourceFolders.filter((f) => existsSync(join(root, f))).flatMap((f) => collect(join(root, f), []));
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints,
  outdir,
  outbase: root,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});

const consoleBuild = join(root, 'ops', 'console', 'build.mjs');
if (existsSync(consoleBuild)) await import(pathToFileURL(consoleBuild).href).then((m) => m.buildConsole?.());

if (!process.env.CORRAL_QUIET_BUILD) {
  console.log(`corral: built ${entryPoints.length} modules into ${relative(process.cwd(), outdir) || 'dist'} in ${Date.now() - started} ms`);
}
