/** Tenant events (stream `tenant-<name>`, type `tenants`, key `<name>`). */

export interface TenantCreated {
  name: string;
  /** increments with every reconfigure; 1 at creation */
  configVersion: number;
}
export interface TenantReconfigured {
  configVersion: number;
  /** watcher names added, updated and removed by this reconfiguration */
  added: string[];
  updated: string[];
  removed: string[];
}
export type TenantDestroyed = Record<string, never>;
/**
 * The tenant's section of the configuration file was applied (docs/operations.md, "How the
 * configuration file is applied"): the section's digest, so every node and every restart
 * sees the same "last applied" and a start re-applies the section only when it changed.
 * A new action rather than a field of `reconfigure`: no existing shape changes, and a node
 * that does not know it ignores it (it then applies the file at every start, as before).
 */
export interface TenantConfigApplied {
  /** sha256 (hex) of the section as validated: defaults filled, `${ENV}` interpolated */
  digest: string;
}

export type TenantEvent =
  | { action: 'create'; data: TenantCreated }
  | { action: 'reconfigure'; data: TenantReconfigured }
  | { action: 'destroy'; data: TenantDestroyed }
  | { action: 'config-applied'; data: TenantConfigApplied };
