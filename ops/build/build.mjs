#!/usr/bin/env node
// Builds what `corral` runs: every TypeScript source of the runtime folders transpiled
// file-by-file to dist/ (same layout, ESM, linked source maps), then the web console
// assets. Type checking is separate (`npm run typecheck`): esbuild only strips types,
// which keeps this step around a second so it runs at install time and before every test
// run.
//
// Servers from an earlier run may be loading modules from dist/ while a new build runs,
// so the build never edits dist/ in place: it writes a fresh tree beside it and swaps it
// in with two renames. It is skipped when nothing changed since the last build.
import { build } from 'esbuild';
import { readdirSync, statSync, rmSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sourceFolders = ['store', 'actors', 'projections', 'gateway', 'ops'];
const outdir = join(root, 'dist');
const stampFile = join(outdir, '.build-stamp');

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const stat = statSync(path);
    if (stat.isDirectory()) collect(path, out);
    else out.push({ path, mtimeMs: stat.mtimeMs });
  }
  return out;
}

const started = Date.now();
const files = sourceFolders.filter((f) => existsSync(join(root, f))).flatMap((f) => collect(join(root, f), []));
const entryPoints = files
  .map((f) => f.path)
  .filter((p) => p.endsWith('.ts') && !p.endsWith('.spec.ts') && !p.endsWith('.d.ts'));
// The stamp records the newest source time and the number of sources (a deleted file changes it).
const stamp = `${Math.max(0, ...files.map((f) => f.mtimeMs))}:${files.length}`;
let current = null;
try {
  current = existsSync(stampFile) ? (await import('node:fs')).readFileSync(stampFile, 'utf8') : null;
} catch {
  current = null;
}
if (current === stamp && !process.argv.includes('--force')) {
  if (!process.env.CORRAL_QUIET_BUILD) console.log('corral: dist/ is up to date');
  process.exit(0);
}

const staging = join(root, `dist.staging-${process.pid}`);
rmSync(staging, { recursive: true, force: true });
await build({
  entryPoints,
  outdir: staging,
  outbase: root,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});

const consoleBuild = join(root, 'ops', 'console', 'build.mjs');
if (existsSync(consoleBuild)) {
  const { buildConsole } = await import(pathToFileURL(consoleBuild).href);
  await buildConsole?.({ outdir: join(staging, 'console') });
}
writeFileSync(join(staging, '.build-stamp'), stamp);

const retired = join(root, `dist.retired-${process.pid}`);
if (existsSync(outdir)) renameSync(outdir, retired);
renameSync(staging, outdir);
rmSync(retired, { recursive: true, force: true });

if (!process.env.CORRAL_QUIET_BUILD) {
  console.log(`corral: built ${entryPoints.length} modules into ${relative(process.cwd(), outdir) || 'dist'} in ${Date.now() - started} ms`);
}
