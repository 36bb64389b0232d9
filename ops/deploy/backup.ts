import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { open } from 'lmdb';
import { CorralError } from '../../store/index.js';
import { parseFlags, UsageError } from '../commands/usage.js';

export const backupUsage = 'corral ctl [--data-dir D] backup [--no-compact] DIR';

export interface BackupResult {
  dataDir: string;
  /** a data directory: `corral serve --data-dir <this>` restores it */
  backupDir: string;
  storeBytes: number;
  files: string[];
  ms: number;
}

/**
 * A hot backup of a data directory with the embedded store (docs/architecture.md "Event store"; docs/operations.md): LMDB's
 * own copy (`mdb_env_copy2`, what `mdb_copy` does) runs inside one read transaction, so the
 * copy is a consistent snapshot of the log as of that transaction even while servers keep
 * appending; nothing waits on it but the space LMDB cannot reuse meanwhile. The signing
 * secret is copied too (tokens stay valid after a restore). Projection snapshots, the admin
 * token and server/node records are not: a restored server rebuilds or rewrites them.
 */
export async function backupDataDir(options: { dataDir: string; backupDir: string; compact?: boolean }): Promise<BackupResult> {
  const started = Date.now();
  const dataDir = resolve(options.dataDir);
  const backupDir = resolve(options.backupDir);
  const storeDir = join(dataDir, 'store');
  if (!existsSync(join(storeDir, 'data.mdb'))) {
    throw new CorralError('not-found', `no embedded event store in ${dataDir} (no ${join(storeDir, 'data.mdb')}); a KurrentDB store is backed up with KurrentDB's own tools`);
  }
  if (existsSync(backupDir) && readdirSync(backupDir).length > 0) {
    throw new CorralError('bad-request', `${backupDir} exists and is not empty: a backup goes into a new or empty directory`);
  }
  mkdirSync(join(backupDir, 'store'), { recursive: true, mode: 0o700 });
  const env = open({ path: storeDir, maxDbs: 8, readOnly: true });
  try {
    await env.backup(join(backupDir, 'store'), options.compact ?? true);
  } finally {
    await env.close();
  }
  const files = ['store/data.mdb'];
  if (existsSync(join(dataDir, 'secret'))) {
    copyFileSync(join(dataDir, 'secret'), join(backupDir, 'secret'));
    chmodSync(join(backupDir, 'secret'), 0o600);
    files.push('secret');
  }
  return { dataDir, backupDir, storeBytes: statSync(join(backupDir, 'store', 'data.mdb')).size, files, ms: Date.now() - started };
}

/** `corral ctl backup DIR` */
export async function runBackupCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { 'data-dir': { type: 'string' }, 'no-compact': { type: 'boolean' } }, true);
  const [command, dir, ...rest] = positionals;
  if (command !== 'backup' || dir === undefined || rest.length > 0) throw new UsageError('expected "backup DIR" (one destination directory)');
  const result = await backupDataDir({
    dataDir: values['data-dir'] ?? process.env.CORRAL_DATA_DIR ?? '.corral',
    backupDir: dir,
    compact: !values['no-compact'],
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}
