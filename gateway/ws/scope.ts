import type { Change } from '../../projections/index.js';
import type { Principal } from '../auth/index.js';

/**
 * What a principal may see on a websocket: every tenant (`*`) or a fixed set. Subscriptions
 * are grouped by the scope's `key`, so two principals with the same tenants share frames,
 * and tenant checks run once per group and change, never per socket.
 */
export interface TenantScope {
  readonly key: string;
  readonly all: boolean;
  readonly tenants: ReadonlySet<string>;
  /** the tenants sorted, as the connections view lists them (`['*']` for all); frozen, shared */
  readonly list: readonly string[];
}

const ALL: TenantScope = Object.freeze({ key: '*', all: true, tenants: new Set<string>(), list: Object.freeze(['*']) });

/**
 * One scope object per principal: verified tokens are cached as one `Principal`, so every
 * socket of a client shares its scope instead of holding its own Set (memory per idle socket).
 */
const scopes = new WeakMap<Principal, TenantScope>();

export function scopeOf(principal: Principal): TenantScope {
  if (principal.tenants['*'] !== undefined) return ALL;
  let scope = scopes.get(principal);
  if (scope === undefined) {
    const tenants = Object.freeze(Object.keys(principal.tenants).sort());
    scope = Object.freeze({ key: tenants.join(','), all: false, tenants: new Set(tenants), list: tenants });
    scopes.set(principal, scope);
  }
  return scope;
}

/** The tenants a connection is listed under in the connections view (a shared frozen array). */
export const scopeTenants = (scope: TenantScope): readonly string[] => scope.list;

/**
 * Tenancy of a change (README "Authentication"): a tenant's events for principals of that tenant;
 * cluster-wide events (components, no tenant) for everyone; a connection for principals
 * sharing one of its tenants (a `*` connection only for `*` principals).
 */
export function changeVisible(scope: TenantScope, change: Change): boolean {
  if (scope.all) return true;
  if (change.type === 'connections') {
    const view = (change.object ?? change.original) as { tenants?: readonly string[] } | null;
    const tenants = view?.tenants ?? [];
    for (const tenant of tenants) if (scope.tenants.has(tenant)) return true;
    return false;
  }
  const tenant = change.tenant ?? (change.type === 'tenants' ? change.key : undefined);
  return tenant === undefined || scope.tenants.has(tenant);
}

/** The same rule for a view object (snapshots, formatted views, GET /api/v1/connections). */
export function objectVisible(scope: TenantScope, view: string, object: Record<string, unknown>): boolean {
  if (scope.all) return true;
  if (view === 'connections') {
    const tenants = (object.tenants as readonly string[] | undefined) ?? [];
    return tenants.some((tenant) => scope.tenants.has(tenant));
  }
  const tenant = view === 'tenants' ? (object.key as string) : (object.tenant as string | undefined);
  return tenant === undefined || scope.tenants.has(tenant);
}
