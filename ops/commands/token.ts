import { resolve } from 'node:path';
import { MINION_CLAIM, ROLES, TokenService, parseDuration, readSecret, isRole } from '../../gateway/index.js';
import { isValidName } from '../../store/index.js';
import { parseFlags, UsageError } from './usage.js';

export const usage = `corral token [--data-dir D] [--tenant T|'*'] [--role read|operate|admin] [--ttl 24h] [--sub NAME] [--minion ID]`;

/**
 * Mints a token signed with `<dataDir>/secret` and prints it. `--minion ID` makes it a minion
 * token: it connects only as minion ID and owns that id (docs/security.md, "Minion identity").
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    'data-dir': { type: 'string' },
    tenant: { type: 'string', multiple: true },
    role: { type: 'string' },
    ttl: { type: 'string' },
    sub: { type: 'string' },
    minion: { type: 'string' },
  });
  const tenantsGiven = values.tenant ?? ['*'];
  const role = values.role ?? 'admin';
  if (!isRole(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')} (got ${JSON.stringify(role)})`);
  for (const tenant of tenantsGiven) {
    if (tenant !== '*' && !isValidName(tenant)) throw new UsageError(`--tenant ${JSON.stringify(tenant)} is not a valid tenant name (or '*')`);
  }
  let ttlMs: number;
  try {
    ttlMs = parseDuration(values.ttl ?? '24h', '--ttl');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const subject = values.sub ?? 'cli';
  if (subject.trim() === '' || subject.length > 200) throw new UsageError('--sub must be a non-empty name');
  const minion = values.minion;
  if (minion !== undefined && !isValidName(minion)) throw new UsageError(`--minion ${JSON.stringify(minion)} is not a valid minion id`);
  const secret = readSecret(resolve(values['data-dir'] ?? '.corral'));
  const tokens = new TokenService({ secret });
  const issued = await tokens.issue({ subject, tenants: Object.fromEntries(tenantsGiven.map((t) => [t, role])), ttlMs, ...(minion !== undefined ? { extraClaims: { [MINION_CLAIM]: minion } } : {}) });
  process.stdout.write(`${issued.token}\n`);
  return 0;
}
