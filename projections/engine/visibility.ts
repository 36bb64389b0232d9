import type { ConnectionView, FoldedViewName } from '../views/types.js';

export interface VisibilityQuery {
  tenant?: string;
  tenants?: readonly string[];
}

/**
 * Which objects a query may see: `tenants` are the principal's (`'*'` = all), `tenant`
 * narrows to one. Objects without a tenant (components) are cluster-wide: visible to
 * everyone unless one tenant was asked for.
 */
export function visibility(query: VisibilityQuery): (tenants: string | readonly string[] | undefined) => boolean {
  let allowed: Set<string> | null = null;
  if (query.tenants && !query.tenants.includes('*')) allowed = new Set(query.tenants);
  const only = query.tenant;
  return (tenant) => {
    if (tenant === undefined) return only === undefined;
    const list = typeof tenant === 'string' ? [tenant] : tenant;
    if (only !== undefined && !list.includes(only)) return false;
    if (allowed === null) return true;
    return list.some((name) => allowed!.has(name));
  };
}

export function tenantOf(view: FoldedViewName, object: object): string | undefined {
  return view === 'tenants' ? (object as { key: string }).key : (object as { tenant?: string }).tenant;
}

export function connectionTenants(connection: ConnectionView): readonly string[] {
  return connection.tenants ?? [];
}
