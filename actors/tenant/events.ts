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

export type TenantEvent =
  | { action: 'create'; data: TenantCreated }
  | { action: 'reconfigure'; data: TenantReconfigured }
  | { action: 'destroy'; data: TenantDestroyed };
