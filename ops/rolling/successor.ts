import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { CorralError } from '../../store/index.js';

/** How a `corral serve` process was started: `execPath [...execArgv] bin serve [...serveArgs]`. */
export interface ServeCommand {
  execPath: string;
  execArgv: string[];
  /** process.argv without the node executable: [bin, 'serve', ...flags] */
  argv: string[];
  cwd: string;
}

export function currentServeCommand(): ServeCommand {
  return { execPath: process.execPath, execArgv: [...process.execArgv], argv: process.argv.slice(1), cwd: process.cwd() };
}

/**
 * The arguments of a successor: the same flags (or `serveArgs` instead), with `--port` set
 * to the port bound (explicit even when it came from the configuration file) and
 * `--data-dir` made absolute. Flags are replaced in
 * place rather than appended, so the command line stays readable in `ps`.
 */
export function successorArgv(command: ServeCommand, options: { port: number; dataDir: string; serveArgs?: string[]; bin?: string }): string[] {
  const [bin, subcommand, ...flags] = command.argv;
  if (subcommand !== 'serve' || bin === undefined) {
    throw new CorralError('unavailable', `this server was not started as "corral serve" (argv: ${command.argv.join(' ')}); it cannot start its own successor`);
  }
  let rest = options.serveArgs ? [...options.serveArgs] : [...flags];
  rest = setFlag(rest, '--port', String(options.port));
  rest = setFlag(rest, '--data-dir', isAbsolute(options.dataDir) ? options.dataDir : resolve(command.cwd, options.dataDir));
  return [options.bin ?? bin, 'serve', ...rest];
}

function setFlag(argv: string[], flag: string, value: string): string[] {
  const out: string[] = [];
  let found = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === flag) {
      if (!found) out.push(flag, value);
      found = true;
      i++; // skip its value
    } else if (arg.startsWith(`${flag}=`)) {
      if (!found) out.push(flag, value);
      found = true;
    } else {
      out.push(arg);
    }
  }
  if (!found) out.push(flag, value);
  return out;
}

/**
 * Starts the successor from inside the running server (Instant's master process does its
 * bg-restart the same way): it inherits this server's environment (the `${ENV}` values the
 * configuration interpolates), working directory and stdout/stderr (the same log stream,
 * e.g. the journal), and runs in its own session so it outlives this process.
 */
export function spawnSuccessor(command: ServeCommand, argv: string[], onError: (error: Error) => void): number {
  const child = spawn(command.execPath, [...command.execArgv, ...argv], {
    cwd: command.cwd,
    env: process.env,
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // An unhandled 'error' (e.g. ENOENT after an uninstall) would crash the running server.
  child.once('error', onError);
  child.unref();
  if (child.pid === undefined) throw new CorralError('internal', `could not start ${command.execPath} ${argv.join(' ')}`);
  return child.pid;
}
