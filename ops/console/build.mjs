// Builds the web console into dist/console/: one bundled, minified script and one
// stylesheet, each named by a hash of its content (so they can be cached for a year), and
// an index.html that names them (served uncached, so a new build is picked up at once).
// Called by ops/build/build.mjs at `npm install`, `npm run build` and test setup.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

const contentHash = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 12);

const INDEX_HTML = ({ script, stylesheet }) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Corral</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/${stylesheet}">
<script type="module" src="/${script}"></script>
</head>
<body>
<div id="app"><p class="boot">Loading the Corral console…</p></div>
<noscript>The Corral console needs JavaScript.</noscript>
</body>
</html>
`;

/** Returns the names of the files written (relative to `outdir`). */
export async function buildConsole({ outdir = join(root, 'dist', 'console') } = {}) {
  const [script, stylesheet] = await Promise.all([
    build({
      entryPoints: [join(here, 'src', 'main.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome100', 'firefox100', 'safari15'],
      minify: true,
      write: false,
      legalComments: 'none',
      logLevel: 'warning',
    }),
    build({
      entryPoints: [join(here, 'src', 'styles.css')],
      bundle: true,
      minify: true,
      write: false,
      logLevel: 'warning',
    }),
  ]);
  const js = script.outputFiles[0].contents;
  const css = stylesheet.outputFiles[0].contents;
  const names = { script: `app.${contentHash(js)}.js`, stylesheet: `app.${contentHash(css)}.css` };
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  writeFileSync(join(outdir, names.script), js);
  writeFileSync(join(outdir, names.stylesheet), css);
  writeFileSync(join(outdir, 'index.html'), INDEX_HTML(names));
  return { ...names, index: 'index.html', scriptBytes: js.byteLength, stylesheetBytes: css.byteLength };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await buildConsole();
  console.log(`console: ${result.script} (${result.scriptBytes} B), ${result.stylesheet} (${result.stylesheetBytes} B)`);
}
