import { resolve } from 'node:path';
import { integerFlag, parseFlags, UsageError } from '../commands/usage.js';
import { rollingRestart } from './rolling-restart.js';

export const restartUsage = 'corral ctl [--data-dir D] restart --rolling [--bin PATH] [--ready-timeout-ms N] [-- SERVE-FLAGS...]';

/**
 * `corral ctl restart --rolling`: prints progress on stderr and the result as JSON on stdout.
 * Flags after `--` replace the server's own `serve` flags for the successor (a rolling
 * upgrade that drops `--model-api-max`, say); `--port` and `--data-dir` are always the
 * running server's.
 */
export async function runRestartCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { 'data-dir': { type: 'string' }, rolling: { type: 'boolean' }, bin: { type: 'string' }, 'ready-timeout-ms': { type: 'string' } },
    true,
  );
  const separator = argv.indexOf('--');
  const serveArgs = separator >= 0 ? argv.slice(separator + 1) : undefined;
  const own = separator >= 0 ? positionals.slice(0, positionals.length - serveArgs!.length) : positionals;
  if (own[0] !== 'restart' || own.length !== 1) throw new UsageError(`expected "restart --rolling" (got ${own.join(' ')})`);
  if (!values.rolling) {
    throw new UsageError('only rolling restarts are supported: "restart --rolling" (a plain restart is "stop" followed by "corral serve")');
  }
  const readyTimeoutMs = integerFlag(values['ready-timeout-ms'], '--ready-timeout-ms', 1, 3_600_000);
  const dataDir = resolve(values['data-dir'] ?? process.env.CORRAL_DATA_DIR ?? '.corral');
  const result = await rollingRestart({
    dataDir,
    ...(serveArgs ? { serveArgs } : {}),
    ...(values.bin ? { bin: resolve(values.bin) } : {}),
    ...(readyTimeoutMs !== undefined ? { readyTimeoutMs } : {}),
    progress: (message) => process.stderr.write(`corral ctl restart: ${message}\n`),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}
