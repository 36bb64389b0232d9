/** Roles of README "Authentication", ordered: each includes the ones before it. */
export const ROLES = ['read', 'operate', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { read: 1, operate: 2, admin: 3 };

export const isRole = (value: unknown): value is Role => typeof value === 'string' && value in RANK;

/** Does `held` include `needed`? */
export const roleIncludes = (held: Role | null | undefined, needed: Role): boolean =>
  held != null && RANK[held] >= RANK[needed];

export const higherRole = (a: Role | null | undefined, b: Role | null | undefined): Role | null => {
  if (a == null) return b ?? null;
  if (b == null) return a;
  return RANK[a] >= RANK[b] ? a : b;
};

/** A principal's grants: tenant name (or `*` for every tenant) -> role. */
export type TenantRoles = Record<string, Role>;

/** Merges grants, keeping the higher role where both name a tenant. */
export function mergeTenantRoles(...grants: TenantRoles[]): TenantRoles {
  const merged: TenantRoles = {};
  for (const grant of grants) {
    for (const [tenant, role] of Object.entries(grant)) merged[tenant] = higherRole(merged[tenant], role) as Role;
  }
  return merged;
}
