import { createHash } from 'node:crypto';

/** The lowest uid a root minion gives a tenant without an account of its own. */
export const TENANT_UID_BASE = 1_000_000;
/** uids stay below 2^31 - 1 (some tools read them as signed 32-bit numbers) */
const TENANT_UID_SPAN = 2 ** 31 - 2 - TENANT_UID_BASE;

/**
 * The uid, and equal gid, a root minion runs a tenant's processes and jobs under when neither
 * the watcher nor the tenant names an account (docs/security.md, "Which account"). One per
 * tenant, derived from its name so every minion agrees without any shared state: tenants then
 * cannot signal, trace or read each other's processes, as they could when all shared
 * `nobody`. It has no passwd entry. The server refuses a new tenant whose uid would equal an
 * existing tenant's (about one chance in 2 billion per pair).
 */
export function tenantDefaultUid(tenant: string): number {
  const digest = createHash('sha256').update(`corral tenant uid\n${tenant}`).digest();
  return TENANT_UID_BASE + (digest.readUInt32BE(0) % TENANT_UID_SPAN);
}
