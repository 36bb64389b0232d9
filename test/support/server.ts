import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { makeTempDir } from './tmp.js';
import { waitFor } from './wait.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CORRAL_BIN = join(REPO_ROOT, 'bin', 'corral.js');

export interface ServerProcessOptions {
  /** extra `corral serve` arguments */
  args?: string[];
  /** a config: an object (written as YAML) or YAML text; passed with --config */
  config?: object | string;
  env?: Record<string, string>;
  /** reuse a data directory (a restart); default: a fresh temp dir */
  dataDir?: string;
  /** start the local minion (default false: `--no-local-minion`) */
  localMinion?: boolean;
  /** how long to wait for server.json (default 20 s) */
  readyTimeoutMs?: number;
}

export interface ServerProcess {
  url: string;
  port: number;
  dataDir: string;
  /** the admin token (admin on `*`) from `<dataDir>/admin.token` */
  token: string;
  pid: number;
  child: ChildProcess;
  /** resolves when the process exits */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then waits for the exit (SIGKILL after 15 s) */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL (a crash), then waits for the exit */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** everything the process wrote to stdout and stderr so far */
  logs(): string;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

// Loader errors seen while dist/ is half rebuilt: a missing module, or new and old files
// mixed. A genuine bug of the same kind fails all attempts, so retrying hides nothing.
const DIST_RACE = /dist\/ is missing|ERR_MODULE_NOT_FOUND[\s\S]*\/dist\/|does not provide an export named/;

async function waitForDist(): Promise<void> {
  await waitFor(() => existsSync(join(REPO_ROOT, 'dist', 'ops', 'cli.js')), { timeoutMs: 30_000, description: 'dist/ to be rebuilt' });
  await new Promise((resolve) => setTimeout(resolve, 500));
}

/**
 * Runs `node bin/corral.js <args>` to completion and collects its output (CLI tests).
 * Retried (up to 3 times) only when dist/ was being rebuilt by a concurrent test run.
 */
export async function runCorral(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  for (let attempt = 1; ; attempt++) {
    const result = await runCorralOnce(args, options);
    if (attempt >= 3 || !DIST_RACE.test(result.stderr)) return result;
    await waitForDist();
  }
}

function runCorralOnce(args: string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CORRAL_BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`corral ${args.join(' ')} did not exit within ${options.timeoutMs ?? 30_000} ms\n${stdout}${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts a real `corral serve --port 0` in its own OS process on a temp data directory
 * (embedded store unless `args` say otherwise) and waits until it wrote server.json.
 * Rejects with the process output if it exits first.
 */
export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  // Every vitest run rebuilds dist/ (test/setup/build.ts) and other suites may run at the
  // same moment: a server that starts while dist/ is being replaced fails to load its
  // modules. That is not the code under test failing, so try again once dist/ is back.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerProcessOnce(options);
    } catch (error) {
      if (!DIST_RACE.test((error as Error).message) || attempt >= 3) throw error;
      await waitForDist();
    }
  }
}

async function startServerProcessOnce(options: ServerProcessOptions): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? makeTempDir('corral-server-');
  const args = ['serve', '--port', '0', '--data-dir', dataDir];
  if (!options.localMinion) args.push('--no-local-minion');
  if (options.config !== undefined) {
    const file = join(makeTempDir('corral-config-'), 'corral.yaml');
    writeFileSync(file, typeof options.config === 'string' ? options.config : stringify(options.config));
    args.push('--config', file);
  }
  args.push(...(options.args ?? []));
  const serverFile = join(dataDir, 'server.json');
  const child = spawn(process.execPath, [CORRAL_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, CORRAL_LOG_LEVEL: process.env.CORRAL_LOG_LEVEL ?? 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // Wait for 'close' (all output read) but not forever: a child the server spawned (the
    // local minion outlives a crash) may hold the inherited pipes open.
    const closed = new Promise<void>((done) => child.once('close', () => done()));
    child.on('exit', (code, signal) => {
      running.delete(child);
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((done) => (timer = setTimeout(done, 500)));
      void Promise.race([closed, grace]).then(() => {
        clearTimeout(timer);
        exitInfo = { code, signal };
        resolve(exitInfo);
      });
    });
  });

  let info: { pid: number; port: number; url: string };
  try {
    const found = await waitFor(
      () => {
        // Truthy on exit too, so a server that fails at start is reported at once.
        if (exitInfo) return { exited: exitInfo } as const;
        if (!existsSync(serverFile)) return null;
        const parsed = JSON.parse(readFileSync(serverFile, 'utf8')) as { pid: number; port: number; url: string };
        return parsed.pid === child.pid ? ({ server: parsed } as const) : null;
      },
      { timeoutMs: options.readyTimeoutMs ?? 20_000, description: `server.json in ${dataDir}` },
    );
    if ('exited' in found) throw new Error(`corral serve exited (${JSON.stringify(found.exited)}) before it was ready`);
    info = found.server;
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${(error as Error).message}\n--- corral serve output ---\n${output}`);
  }

  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const waitExit = async (signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    if (!exitInfo) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    url: info.url,
    port: info.port,
    dataDir,
    token,
    pid: child.pid!,
    child,
    exited,
    stop: () => waitExit('SIGTERM'),
    kill: () => waitExit('SIGKILL'),
    logs: () => output,
  };
}

