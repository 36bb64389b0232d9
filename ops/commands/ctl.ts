import { resolve } from 'node:path';
import { sendControlCommand } from '../ctl/index.js';
import { parseFlags, UsageError } from './usage.js';

export const usage = 'corral ctl [--data-dir D] status|stop [--keep-minion]|restart --rolling [-- SERVE-FLAGS]|backup DIR|tenant-reconfigure T|full-reconfigure|stack-dump';

const SUBCOMMANDS = ['status', 'stop', 'restart', 'backup', 'tenant-reconfigure', 'full-reconfigure', 'stack-dump'] as const;

/** Talks to the server running on a data directory through `<dataDir>/corral.sock`; prints the answer as JSON. */
export async function run(argv: string[]): Promise<number> {
  // These two work on the data directory itself rather than through corral.sock: restart
  // --rolling talks to each server's own socket (ops/rolling), backup copies the store (ops/deploy).
  const subcommand = argv.find((arg, i) => !arg.startsWith('-') && argv[i - 1] !== '--data-dir');
  if (subcommand === 'restart') return (await import('../rolling/cli.js')).runRestartCommand(argv);
  if (subcommand === 'backup') return (await import('../deploy/backup.js')).runBackupCommand(argv);
  const { values, positionals } = parseFlags(
    argv,
    { 'data-dir': { type: 'string' }, 'keep-minion': { type: 'boolean' }, json: { type: 'boolean' } },
    true,
  );
  const [command, ...rest] = positionals;
  if (!command) throw new UsageError(`a command is needed: one of ${SUBCOMMANDS.join(', ')}`);
  if (!(SUBCOMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown ctl command ${JSON.stringify(command)}: expected one of ${SUBCOMMANDS.join(', ')}`);
  if (values['keep-minion'] && command !== 'stop') throw new UsageError('--keep-minion goes with stop');
  const dataDir = resolve(values['data-dir'] ?? process.env.CORRAL_DATA_DIR ?? '.corral');
  let args: Record<string, unknown> = {};
  if (command === 'tenant-reconfigure') {
    if (rest.length !== 1) throw new UsageError('tenant-reconfigure needs exactly one tenant name');
    args = { tenant: rest[0] };
  } else if (rest.length > 0) {
    throw new UsageError(`${command} takes no arguments (got ${rest.join(' ')})`);
  }
  if (command === 'stop') args = { keepMinion: values['keep-minion'] ?? false };
  const result = await sendControlCommand(dataDir, command, args);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}
