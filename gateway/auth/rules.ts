import type { Role, TenantRoles } from './roles.js';
import { mergeTenantRoles } from './roles.js';

export type ClaimValue = string | number | boolean;

/**
 * An authorization rule (Zuul's authorization rules, simplified): a token whose claims
 * match every entry of `claims` gets `role` on `tenant` (a name, or `*` for all tenants).
 *
 *   auth:
 *     rules:
 *       - { tenant: acme, role: operate, claims: { groups: ops } }
 *       - { tenant: "*", role: read, claims: { iss: "https://sso.example.com", "realm_access.roles": [viewer, auditor] } }
 *
 * A claim name is a dot path into the token's claims (`realm_access.roles`); a claim
 * name that itself contains dots (`corral.tenants`) is tried whole first. The expected
 * value is a scalar or a list meaning "any of"; when the token's claim is a list, the rule
 * matches if any element matches.
 */
export interface AuthorizationRule {
  tenant: string;
  role: Role;
  claims: Record<string, ClaimValue | ClaimValue[]>;
}

export function claimAt(claims: Record<string, unknown>, name: string): unknown {
  if (name in claims) return claims[name];
  let current: unknown = claims;
  for (const part of name.split('.')) {
    if (typeof current !== 'object' || current === null || !(part in current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function claimMatches(actual: unknown, expected: ClaimValue | ClaimValue[]): boolean {
  const wanted = Array.isArray(expected) ? expected : [expected];
  const present = Array.isArray(actual) ? actual : [actual];
  return present.some((value) => wanted.some((w) => value === w || (typeof value !== 'object' && String(value) === String(w))));
}

export function ruleMatches(rule: AuthorizationRule, claims: Record<string, unknown>): boolean {
  const entries = Object.entries(rule.claims);
  return entries.length > 0 && entries.every(([name, expected]) => claimMatches(claimAt(claims, name), expected));
}

/** The grants every matching rule gives these claims. */
export function grantsFromRules(rules: readonly AuthorizationRule[], claims: Record<string, unknown>): TenantRoles {
  const grants: TenantRoles[] = [];
  for (const rule of rules) if (ruleMatches(rule, claims)) grants.push({ [rule.tenant]: rule.role });
  return mergeTenantRoles(...grants);
}
