// Helpers for the `corral` process-control CLI suites: every command runs the real
// bin/corral.js against a real server (with its local minion), found through --data-dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { CORRAL_BIN, REPO_ROOT, runCorral, type ServerProcess } from '../support/index.js';

export { api, cleanupCorral, pidAlive, processes, startCorral, waitRunning } from '../supervision/support.js';

/** `corral COMMAND --data-dir <the server's> ARGS...` (before any `--`), to completion. */
export const corral = (server: ServerProcess, args: string[], timeoutMs = 60_000) => runCorral(withDataDir(server, args), { timeoutMs });

const withDataDir = (server: ServerProcess, [command, ...rest]: string[]): string[] => [command!, '--data-dir', server.dataDir, ...rest];

/** A long-running `corral` (logs -f, ps --watch): its output so far, and its exit code once it ends. */
export interface RunningCorral {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export function spawnCorral(server: ServerProcess, args: string[]): RunningCorral {
  const child = spawn(process.execPath, [CORRAL_BIN, ...withDataDir(server, args)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => stdout + (stderr ? `\n[stderr]\n${stderr}` : ''), exited };
}
