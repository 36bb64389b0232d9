import { CorralError, isValidName } from '../../store/index.js';
import { roleIncludes, higherRole, type Role, type TenantRoles } from './roles.js';

/** How a principal proved who it is. */
export type PrincipalSource =
  | 'token' // a JWT signed by this cluster's secret (admin.token, `corral token`, /login)
  | 'external' // a JWT from the configured external issuer
  | 'password' // Digital Rebar's `?token=user:password`
  | 'auth-none' // auth is switched off: everyone is admin on every tenant
  | 'anonymous'; // no credentials (only public routes see this)

/**
 * Who is making a request, and what it may touch. Every route and protocol asks this
 * object, never the raw claims, so tenant scoping is decided in one place (README "Authentication":
 * reads need `read`, process/job commands `operate`, configuration `admin`).
 */
export class Principal {
  readonly subject: string;
  readonly tenants: Readonly<TenantRoles>;
  readonly source: PrincipalSource;
  /** ms epoch when the credentials expire (null: never, or unknown) */
  readonly expiresAt: number | null;
  /**
   * The minion id a minion token is minted for (`corral token --minion ID`, claim
   * `corral.minion`): such a token connects as that minion only, and owns that id
   * (docs/security.md, "Minion identity"). Null for every other credential.
   */
  readonly minion: string | null;

  constructor(subject: string, tenants: TenantRoles, source: PrincipalSource, expiresAt: number | null = null, minion: string | null = null) {
    this.subject = subject;
    this.tenants = Object.freeze({ ...tenants });
    this.source = source;
    this.expiresAt = expiresAt;
    this.minion = minion;
  }

  static anonymous(): Principal {
    return new Principal('anonymous', {}, 'anonymous');
  }

  get authenticated(): boolean {
    return this.source !== 'anonymous';
  }

  /** The role on `tenant`: the higher of its own grant and the `*` grant; null if none. */
  roleFor(tenant: string): Role | null {
    return higherRole(this.tenants[tenant], this.tenants['*']);
  }

  canSee(tenant: string): boolean {
    return this.roleFor(tenant) !== null;
  }

  has(tenant: string, role: Role): boolean {
    return roleIncludes(this.roleFor(tenant), role);
  }

  /** Cluster-wide rights (components, connections of every tenant) need `*`. */
  hasClusterRole(role: Role): boolean {
    return roleIncludes(this.tenants['*'], role);
  }

  /** The tenants among `all` this principal may see. */
  visibleTenants(all: Iterable<string>): string[] {
    const visible: string[] = [];
    for (const tenant of all) if (this.canSee(tenant)) visible.push(tenant);
    return visible;
  }

  /**
   * Throws unless the principal holds `role` on `tenant`: 401 for anonymous callers,
   * 403 otherwise. A tenant name that is not a valid name is a 400 (it cannot exist).
   */
  require(tenant: string, role: Role): this {
    if (!this.authenticated) throw new CorralError('unauthenticated', 'authentication required: send a token');
    if (tenant !== '*' && !isValidName(tenant)) {
      throw new CorralError('bad-request', `invalid tenant name ${JSON.stringify(String(tenant).slice(0, 80))}`, { field: 'tenant' });
    }
    const held = tenant === '*' ? (this.tenants['*'] ?? null) : this.roleFor(tenant);
    if (!roleIncludes(held, role)) {
      throw new CorralError(
        'forbidden',
        held
          ? `${this.subject} has role ${held} on tenant ${tenant}; this needs ${role}`
          : `${this.subject} has no access to tenant ${tenant}`,
        { tenant, needed: role, held },
      );
    }
    return this;
  }

  /** Plain data for logs, event meta and the connections view. */
  toJSON(): { subject: string; tenants: TenantRoles; source: PrincipalSource } {
    return { subject: this.subject, tenants: { ...this.tenants }, source: this.source };
  }
}
