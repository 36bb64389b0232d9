import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repo = fileURLToPath(new URL('../../', import.meta.url));
let scriptsDir: string | undefined;

/**
 * Bundles the store's child scripts (store/testing/*.ts) into a private directory under
 * node_modules/.cache, so that a concurrent `npm run build` (which wipes dist/) cannot pull
 * them away mid-test. Packages stay external and resolve from the repository's node_modules.
 */
export async function buildChildScripts(): Promise<void> {
  const outdir = join(repo, 'node_modules', '.cache', `corral-store-tests-${process.pid}`);
  await build({
    entryPoints: ['crash-writer', 'two-process-writer'].map((name) => join(repo, 'store', 'testing', `${name}.ts`)),
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  scriptsDir = outdir;
}

export async function removeChildScripts(): Promise<void> {
  if (scriptsDir !== undefined) await rm(scriptsDir, { recursive: true, force: true });
}

/** A child node process running one of the store's test scripts, with its stdout split into lines. */
export interface Child {
  process: ChildProcessWithoutNullStreams;
  lines: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startChild(script: string, args: string[]): Child {
  if (scriptsDir === undefined) throw new Error('call buildChildScripts() first (in beforeAll)');
  const path = join(scriptsDir, script);
  const child = spawn(process.execPath, [path, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const stderr: string[] = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    // a line is complete only once its newline arrived: a kill may cut the last one short
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { process: child, lines, stderr, exited };
}
