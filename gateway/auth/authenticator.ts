import { CorralError, isValidName } from '../../store/index.js';
import { Principal } from './principal.js';
import { parsePasswordHash, verifyPassword, UNMATCHABLE_HASH, type ParsedPasswordHash } from './passwords.js';
import type { TenantRoles } from './roles.js';
import type { TokenService } from './tokens.js';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';

/** A user of `auth.users` (already validated by the config loader). */
export interface AuthUser {
  name: string;
  passwordHash: string;
  tenants: TenantRoles;
}

export interface LoginResult {
  token: string;
  /** seconds since the epoch, as Salt reports them */
  start: number;
  expire: number;
  user: string;
  tenants: TenantRoles;
}

export type AuthenticatorOptions =
  | { mode: 'none' }
  | { mode: 'tokens'; tokens: TokenService; users?: readonly AuthUser[]; loginTtlMs?: number; loginThrottle?: Partial<LoginThrottleOptions> };

/** What a request brings for authentication; `remoteAddress` keys the login backoff. */
export interface CredentialsRequest {
  headers: Record<string, string>;
  query: Record<string, string>;
  remoteAddress?: string;
}

const DEFAULT_LOGIN_TTL_MS = 12 * 3_600_000; // Salt's default eauth token expiry

/**
 * Turns the credentials a request carries into a Principal (README "Authentication"). Accepted, in
 * this order: `Authorization: Bearer <jwt>`, `Authorization: Basic` (a configured user),
 * `X-Auth-Token` (Salt), `?token=<jwt>`, and Digital Rebar's `?token=user:password`.
 * Protocols that carry the token in the path (Salt's `/all_events/{token}`) call
 * `authenticateToken` themselves.
 */
export class Authenticator {
  readonly mode: 'none' | 'tokens';
  private readonly tokens: TokenService | null;
  private readonly users = new Map<string, { hash: ParsedPasswordHash; tenants: TenantRoles }>();
  private readonly loginTtlMs: number;
  private readonly throttle: LoginThrottle;

  constructor(options: AuthenticatorOptions) {
    this.mode = options.mode;
    this.throttle = new LoginThrottle(options.mode === 'tokens' ? options.loginThrottle : {});
    if (options.mode === 'none') {
      this.tokens = null;
      this.loginTtlMs = DEFAULT_LOGIN_TTL_MS;
      return;
    }
    this.tokens = options.tokens;
    this.loginTtlMs = options.loginTtlMs ?? DEFAULT_LOGIN_TTL_MS;
    for (const user of options.users ?? []) {
      this.users.set(user.name, { hash: parsePasswordHash(user.passwordHash), tenants: { ...user.tenants } });
    }
  }

  /** With `auth: none` everyone is admin on every tenant (the server is then loopback-only). */
  static readonly NO_AUTH_PRINCIPAL = new Principal('local', { '*': 'admin' }, 'auth-none');

  async authenticateRequest(request: CredentialsRequest, optional: boolean): Promise<Principal> {
    if (this.mode === 'none') return Authenticator.NO_AUTH_PRINCIPAL;
    const authorization = request.headers.authorization;
    if (authorization) {
      const [scheme, ...rest] = authorization.trim().split(/\s+/);
      const value = rest.join(' ');
      if (/^bearer$/i.test(scheme ?? '') && value) return this.authenticateToken(value, request.remoteAddress);
      if (/^basic$/i.test(scheme ?? '') && value) {
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) throw unauthenticated('malformed Basic credentials: expected user:password');
        return this.authenticatePassword(decoded.slice(0, colon), decoded.slice(colon + 1), request.remoteAddress);
      }
      throw unauthenticated('unsupported Authorization header: use "Bearer <token>"');
    }
    const headerToken = request.headers['x-auth-token'];
    if (headerToken) return this.authenticateToken(headerToken, request.remoteAddress);
    const queryToken = request.query.token;
    if (queryToken) return this.authenticateToken(queryToken, request.remoteAddress);
    if (optional) return Principal.anonymous();
    throw unauthenticated('authentication required: send "Authorization: Bearer <token>" or ?token=');
  }

  /** A token from anywhere: a JWT, or `user:password` (a JWT never contains a colon). */
  async authenticateToken(token: string, remoteAddress = ''): Promise<Principal> {
    if (this.mode === 'none') return Authenticator.NO_AUTH_PRINCIPAL;
    const colon = token.indexOf(':');
    if (colon > 0) return this.authenticatePassword(token.slice(0, colon), token.slice(colon + 1), remoteAddress);
    return this.tokens!.verify(token);
  }

  async authenticatePassword(username: string, password: string, remoteAddress = ''): Promise<Principal> {
    const user = await this.checkPassword(username, password, remoteAddress);
    return new Principal(username, user.tenants, 'password');
  }

  /** Salt's `/login`: a token for the user's tenants. */
  async login(username: unknown, password: unknown, remoteAddress = ''): Promise<LoginResult> {
    if (this.mode === 'none') {
      throw new CorralError('bad-request', 'login is not available: auth is switched off (auth: none)');
    }
    if (typeof username !== 'string' || typeof password !== 'string' || username === '' || password === '') {
      throw new CorralError('bad-request', 'login needs username and password', { field: typeof username === 'string' && username ? 'password' : 'username' });
    }
    const user = await this.checkPassword(username, password, remoteAddress);
    const issued = await this.tokens!.issue({ subject: username, tenants: user.tenants, ttlMs: this.loginTtlMs });
    return { token: issued.token, start: issued.issuedAt / 1000, expire: issued.expiresAt / 1000, user: username, tenants: user.tenants };
  }

  /** Throttled (LoginThrottle): a flood gets 429 before any scrypt work is spent on it. */
  private async checkPassword(username: string, password: string, remoteAddress: string): Promise<{ tenants: TenantRoles }> {
    const user = isValidName(username) ? this.users.get(username) : undefined;
    // an unknown name is keyed too (bounded table), cut so a long one costs no memory
    const checked = await this.throttle.attempt(username.slice(0, 128), remoteAddress, async () => {
      // The same scrypt cost whether or not the user exists.
      const matches = await verifyPassword(password, user?.hash ?? UNMATCHABLE_HASH);
      return user && matches ? user : null;
    });
    if (!checked) throw unauthenticated('invalid username or password');
    return checked;
  }
}

const unauthenticated = (reason: string): CorralError => new CorralError('unauthenticated', reason);
