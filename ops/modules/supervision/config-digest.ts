import { createHash } from 'node:crypto';
import type { TenantConfig } from '../../config/index.js';

/**
 * The digest a start compares with the tenant's last `tenants.config-applied` (docs/operations.md,
 * "How the configuration file is applied"). Taken over the section as validated — defaults
 * filled, `${ENV}` interpolated, keys sorted — so comments, key order, anchors and spelling a
 * default out change nothing, while a changed value (including an environment variable the
 * section reads) is a change.
 */
export function tenantConfigDigest(config: TenantConfig): string {
  // Only what an apply changes: the watchers. Grants and accounts (docs/security.md) are read
  // from the file when used, so changing them must not re-apply the watchers at the next start.
  return createHash('sha256').update(JSON.stringify(sortedKeys({ watchers: config.watchers }))).digest('hex');
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== 'object' || value === null) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortedKeys((value as Record<string, unknown>)[key]);
  return sorted;
}
