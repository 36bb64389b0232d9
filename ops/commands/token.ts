import { resolve } from 'node:path';
import { ROLES, TokenService, parseDuration, readSecret, isRole } from '../../gateway/index.js';
import { isValidName } from '../../store/index.js';
import { parseFlags, UsageError } from './usage.js';

export const usage = `corral token [--data-dir D] [--tenant T|'*'] [--role read|operate|admin] [--ttl 24h] [--sub NAME]`;

/** Mints a token signed with `<dataDir>/secret` and prints it. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    'data-dir': { type: 'string' },
    tenant: { type: 'string', multiple: true },
    role: { type: 'string' },
    ttl: { type: 'string' },
    sub: { type: 'string' },
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
  const secret = readSecret(resolve(values['data-dir'] ?? '.corral'));
  const tokens = new TokenService({ secret });
  const issued = await tokens.issue({ subject, tenants: Object.fromEntries(tenantsGiven.map((t) => [t, role])), ttlMs });
  process.stdout.write(`${issued.token}\n`);
  return 0;
}
