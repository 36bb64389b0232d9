/**
 * Every README example is executed (issue 7). The convention, also described in README.md
 * ("How the examples are tested"):
 *
 * - The ```yaml block after `<!-- readme-test: server-config -->` is the configuration of a
 *   real `corral serve` (embedded store, its local minion, a free fixed port so that the
 *   rolling restart example can share it), started with test/support's startServerProcess.
 * - Every ```sh block runs, in document order, as `bash -euo pipefail -c BLOCK` in the
 *   checkout, with CORRAL_SERVER, CORRAL_TOKEN and CORRAL_DATA_DIR set and a `corral`
 *   command first on PATH. It passes when it exits 0 within BLOCK_TIMEOUT_MS and its stdout
 *   contains, in order, each trailing `#> ...` line (`...` matches anything within a line).
 *   Blocks build on each other (the tour adds a watcher, then kills its process...), so a
 *   failure early on can fail later blocks too: read the first failure.
 * - Every ```js block runs in headless Chromium (Debian's, as test/console uses) on a page of
 *   the server's origin, with CORRAL_SERVER and CORRAL_TOKEN defined, and passes when its
 *   console output contains each trailing `//> ...` line in order. Without Chromium it is
 *   reported as skipped, with the reason in its name.
 * - ```console, ```text and ```yaml blocks are not run (servers left running, output,
 *   reference material); any other tag fails the test, so nothing escapes by its tag.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORRAL_BIN, REPO_ROOT, freePort, makeTempDir, removeTempDirs, startServerProcess, waitFor, type ServerProcess } from '../support/index.js';
import { RUN_TAGS, SHOW_TAGS, checkExpectedOutput, describeBlock, parseCodeBlocks, type CodeBlock } from './examples.js';

const BLOCK_TIMEOUT_MS = 60_000;
const CHROMIUM = process.env.CORRAL_CHROMIUM ?? '/usr/bin/chromium';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const blocks = parseCodeBlocks(readme);
const shellBlocks = blocks.filter((block) => block.tag === 'sh');
const browserBlocks = blocks.filter((block) => block.tag === 'js');

/** A directory holding a `corral` command, as `npm link` or an alias would give a reader. */
function corralShim(): string {
  const dir = makeTempDir('corral-readme-bin-');
  const file = join(dir, 'corral');
  writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${CORRAL_BIN}" "$@"\n`);
  chmodSync(file, 0o755);
  return dir;
}

/** The environment of a reader's shell: no vitest variables, no NODE_OPTIONS. */
function readerEnvironment(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['HOME', 'USER', 'LANG', 'LC_ALL', 'TMPDIR', 'TERM', 'CORRAL_CHROMIUM']) {
    if (process.env[name] !== undefined) env[name] = process.env[name]!;
  }
  return { ...env, ...extra };
}

interface BlockRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs one block in its own process group; afterwards the whole group is killed, so a block
 * that fails half-way leaves no background process (a minion, a scratch server) behind.
 */
function runShellBlock(code: string, env: Record<string, string>): Promise<BlockRun> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', code], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    let timedOut = false;
    const killGroup = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, BLOCK_TIMEOUT_MS);
    child.on('exit', (exitCode, signal) => {
      clearTimeout(timer);
      // A leftover process holding the pipes (e.g. curl in `<(...)` until its next write) must not hold the test.
      const grace = setTimeout(() => {
        killGroup();
        resolve({ code: exitCode, signal, stdout, stderr, timedOut });
      }, 3_000);
      child.once('close', () => {
        clearTimeout(grace);
        killGroup();
        resolve({ code: exitCode, signal, stdout, stderr, timedOut });
      });
    });
  });
}

function failureReport(run: BlockRun, code: string): string {
  const status = run.timedOut ? `timed out after ${BLOCK_TIMEOUT_MS} ms` : `exit code ${run.code}${run.signal ? ` (signal ${run.signal})` : ''}`;
  return `${status}\n--- block ---\n${code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

/** Pids of servers and minions that a data directory lists (for the cleanup of a failed run). */
function pidsOf(dataDir: string): number[] {
  const pids: number[] = [];
  const nodes = join(dataDir, 'nodes');
  if (existsSync(nodes)) {
    for (const file of readdirSync(nodes).filter((name) => name.endsWith('.json'))) {
      try {
        pids.push((JSON.parse(readFileSync(join(nodes, file), 'utf8')) as { pid: number }).pid);
      } catch {
        // a file being rewritten
      }
    }
  }
  const minionPid = join(dataDir, 'minion.pid');
  if (existsSync(minionPid)) pids.push(Number(readFileSync(minionPid, 'utf8').trim()));
  return pids.filter((pid) => Number.isInteger(pid) && pid > 0);
}

/** process.kill without the throw: true if the process existed. */
function signal(pid: number, name: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

describe('README', () => {
  it('has the blocks the convention expects', () => {
    const first = blocks[0]!;
    expect(first.code).toContain('npm install && npm start');
    expect(first.code).toContain('npm test');
    const unknown = blocks.filter((block) => !([...RUN_TAGS, ...SHOW_TAGS] as readonly string[]).includes(block.tag));
    expect(unknown.map((block) => `README.md:${block.line} \`\`\`${block.tag}`), 'code blocks must be tagged sh, js, console, text or yaml').toEqual([]);
    expect(blocks.filter((block) => block.marker === 'server-config' && block.tag === 'yaml')).toHaveLength(1);
    expect(shellBlocks.length).toBeGreaterThanOrEqual(15);
    expect(browserBlocks.length).toBeGreaterThanOrEqual(1);
    for (const block of [...shellBlocks, ...browserBlocks]) expect(block.expected.length, describeBlock(block)).toBeGreaterThan(0);
  });

  it('finds the tools the examples use (bash, curl, timeout)', () => {
    const missing = ['bash', 'curl', 'timeout'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
    expect(missing, 'install them (Debian: apt-get install curl coreutils bash; CI: .ci/apt-packages)').toEqual([]);
  });

  it('checks expected output for real (a missing or out-of-order line fails)', () => {
    expect(checkExpectedOutput('job 1: cmd.run on 1 minion(s)\nvm: ok\n  hi\n', ['cmd.run on ... minion(s)', 'hi'])).toBeNull();
    expect(checkExpectedOutput('hi\ncmd.run on 1 minion(s)\n', ['cmd.run on ... minion(s)', 'hi'])).toMatch(/not found after the previous/);
    expect(checkExpectedOutput('a\nb\n', ['a...b'])).toMatch(/not found/);
    expect(checkExpectedOutput('{"x":1}', ['{"x":...}'])).toBeNull();
  });
});

describe('README examples against a real server', () => {
  let server: ServerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    const config = blocks.find((block) => block.marker === 'server-config')!.code;
    const port = await freePort();
    server = await startServerProcess({ config, localMinion: true, args: ['--port', String(port)] });
    env = readerEnvironment({
      PATH: `${corralShim()}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      CORRAL_SERVER: server.url,
      CORRAL_TOKEN: server.token,
      CORRAL_DATA_DIR: server.dataDir,
    });
  });

  afterAll(async () => {
    // The tour ends with `corral ctl stop`; after a failure, stop whatever still runs
    // (the rolling restart's successor is not our child, so it is found by its data directory).
    if (server) {
      await server.stop();
      // SIGTERM first: a server's graceful stop also stops its local minion and the managed processes.
      const left = pidsOf(server.dataDir).filter((pid) => signal(pid, 'SIGTERM'));
      await waitFor(() => left.every((pid) => !signal(pid, 0)), { timeoutMs: 15_000, description: 'leftover servers to stop' }).catch(() => undefined);
      for (const pid of left) signal(pid, 'SIGKILL');
    }
    removeTempDirs();
  });

  // In document order: the browser snippet runs while the tour's server is up.
  for (const block of blocks.filter((b) => b.tag === 'sh' || b.tag === 'js')) {
    if (block.tag === 'sh') it(describeBlock(block), async () => {
      const run = await runShellBlock(block.code, env);
      // CORRAL_README_VERBOSE=1 shows what each example printed (to compare with the README's text).
      if (process.env.CORRAL_README_VERBOSE) process.stdout.write(`--- README.md:${block.line} ---\n${run.stdout}${run.stderr}`);
      if (run.timedOut || run.code !== 0) expect.fail(failureReport(run, block.code));
      const mismatch = checkExpectedOutput(run.stdout, block.expected);
      if (mismatch) expect.fail(`${mismatch}\n--- stderr ---\n${run.stderr}`);
    }, BLOCK_TIMEOUT_MS + 10_000);
    else browserBlock(block);
  }

  function browserBlock(block: CodeBlock): void {
    const title = existsSync(CHROMIUM) ? describeBlock(block) : `${describeBlock(block)} (skipped: no Chromium at ${CHROMIUM}; .ci/run installs it)`;
    it.skipIf(!existsSync(CHROMIUM))(title, async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
      try {
        const page = await browser.newPage();
        const logs: string[] = [];
        const errors: string[] = [];
        page.on('console', (message) => logs.push(message.text()));
        page.on('pageerror', (error) => errors.push(error.message));
        // A page of the server's own origin, as the console or an app served next to it would be.
        await page.goto(`${server.url}/health/live`);
        await page.evaluate(`(() => { const CORRAL_SERVER = ${JSON.stringify(server.url)}; const CORRAL_TOKEN = ${JSON.stringify(server.token)};\n${block.code}\n})()`);
        try {
          await waitFor(() => errors.length > 0 || checkExpectedOutput(logs.join('\n'), block.expected) === null, {
            timeoutMs: 20_000,
            intervalMs: 50,
            description: 'the snippet to log its expected lines',
          });
        } catch {
          // reported below with what it did log
        }
        expect(errors, 'page errors').toEqual([]);
        const mismatch = checkExpectedOutput(logs.join('\n'), block.expected);
        if (mismatch) expect.fail(mismatch);
      } finally {
        await browser.close();
      }
    }, 60_000);
  }
});
