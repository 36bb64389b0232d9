import { createHmac, createPublicKey, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { CorralError, InvalidArgumentError, isValidName } from '../../store/index.js';
import { Principal } from './principal.js';
import { isRole, mergeTenantRoles, type TenantRoles } from './roles.js';
import { grantsFromRules, type AuthorizationRule } from './rules.js';

/** The claim that carries a principal's roles (README "Authentication"). */
export const TENANTS_CLAIM = 'corral.tenants';
/** The claim of a minion token: the one minion id it may connect as (docs/security.md, "Minion identity"). */
export const MINION_CLAIM = 'corral.minion';
/** Issuer and audience of the tokens this cluster signs with its own secret. */
export const LOCAL_ISSUER = 'corral';
export const LOCAL_AUDIENCE = 'corral';
const LOCAL_ALGORITHM = 'HS256';
/** A token without `exp` would be valid forever: refused, ours and an external issuer's alike (README "Authentication"). */
const REQUIRED_CLAIMS = ['exp'];
const VERIFIED_CACHE_SIZE = 10_000;
const VERIFIED_CACHE_MS = 5 * 60_000;

/** An external issuer whose tokens are trusted too (`auth.jwt` in the config). */
export interface ExternalIssuerConfig {
  /** JWKS endpoint (keys fetched and cached by jose) */
  jwksUrl?: string;
  /** or a PEM public key (SPKI or certificate) */
  publicKey?: string;
  issuer?: string;
  audience?: string | string[];
  /** accepted signature algorithms; default: RS256, ES256, EdDSA, PS256 */
  algorithms?: string[];
}

export interface IssuedToken {
  token: string;
  /** ms epoch */
  issuedAt: number;
  expiresAt: number;
}

export interface TokenServiceOptions {
  secret: Uint8Array;
  external?: ExternalIssuerConfig | null;
  rules?: readonly AuthorizationRule[];
}

const unauthenticated = (reason: string, cause?: unknown): CorralError =>
  new CorralError('unauthenticated', reason, undefined, { cause });

/** Validates a `corral.tenants` value: tenant name or `*` -> role. */
export function parseTenantRoles(value: unknown, field = TENANTS_CLAIM): TenantRoles {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`${field}: must map tenant names (or "*") to read, operate or admin`, { field });
  }
  const roles: TenantRoles = {};
  for (const [tenant, role] of Object.entries(value)) {
    if (tenant !== '*' && !isValidName(tenant)) throw new InvalidArgumentError(`${field}.${tenant}: not a valid tenant name`, { field });
    if (!isRole(role)) throw new InvalidArgumentError(`${field}.${tenant}: role must be read, operate or admin (got ${JSON.stringify(role)})`, { field });
    roles[tenant] = role;
  }
  return roles;
}

/** Signs this cluster's tokens and verifies every token a request brings. */
export class TokenService {
  private readonly secret: Uint8Array;
  private readonly rules: readonly AuthorizationRule[];
  private readonly external: { key: KeyObject | JWTVerifyGetKey; config: ExternalIssuerConfig } | null;
  private readonly verified = new Map<string, { principal: Principal; validUntil: number }>();
  /** verifications under way, by token (an entry lives until its check settles) */
  private readonly verifying = new Map<string, Promise<Principal>>();

  constructor(options: TokenServiceOptions) {
    this.secret = options.secret;
    this.rules = options.rules ?? [];
    const external = options.external ?? null;
    if (!external) this.external = null;
    else if (external.jwksUrl) this.external = { key: createRemoteJWKSet(new URL(external.jwksUrl)), config: external };
    else if (external.publicKey) this.external = { key: createPublicKey(external.publicKey), config: external };
    else throw new InvalidArgumentError('auth.jwt: needs jwksUrl or publicKey', { field: 'auth.jwt' });
  }

  /**
   * HMAC-SHA256 of `text` under the cluster secret, bound to `purpose`: how one node proves a
   * message to another (a forwarded command). It can never pass for a token, and a token can
   * never pass for it.
   */
  mac(purpose: string, text: string): string {
    return createHmac('sha256', this.secret).update(`corral:${purpose}\n`).update(text).digest('base64url');
  }

  verifyMac(purpose: string, text: string, mac: string): boolean {
    const expected = Buffer.from(this.mac(purpose, text));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  async issue(options: { subject: string; tenants: TenantRoles; ttlMs: number; extraClaims?: Record<string, unknown> }): Promise<IssuedToken> {
    const tenants = parseTenantRoles(options.tenants);
    const issuedAt = Date.now();
    const expiresAt = issuedAt + options.ttlMs;
    const token = await new SignJWT({ ...options.extraClaims, [TENANTS_CLAIM]: tenants })
      .setProtectedHeader({ alg: LOCAL_ALGORITHM, typ: 'JWT' })
      .setSubject(options.subject)
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setJti(randomUUID())
      .setIssuedAt(Math.floor(issuedAt / 1000))
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(this.secret);
    return { token, issuedAt, expiresAt: Math.floor(expiresAt / 1000) * 1000 };
  }

  /**
   * Verifies a JWT; throws `unauthenticated` with the reason (expired, malformed, bad
   * signature...). Verified tokens are remembered (exact string, bounded, at most 5
   * minutes and never past their expiry): clients send the same token on every request,
   * and a cache hit costs a map lookup instead of a signature check. Concurrent checks of
   * one token (a thousand clients reconnecting at once) share a single verification.
   */
  async verify(token: string): Promise<Principal> {
    const cached = this.verified.get(token);
    if (cached && cached.validUntil > Date.now()) return cached.principal;
    if (cached) this.verified.delete(token);
    let pending = this.verifying.get(token);
    if (pending === undefined) {
      pending = this.verifyAndRemember(token).finally(() => this.verifying.delete(token));
      this.verifying.set(token, pending);
    }
    return pending;
  }

  private async verifyAndRemember(token: string): Promise<Principal> {
    const principal = await this.verifyUncached(token);
    const validUntil = Math.min(principal.expiresAt ?? Infinity, Date.now() + VERIFIED_CACHE_MS);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { principal, validUntil });
    return principal;
  }

  private async verifyUncached(token: string): Promise<Principal> {
    if (typeof token !== 'string' || token.split('.').length !== 3) {
      throw unauthenticated('malformed token: expected a JWT (three base64url parts separated by dots)');
    }
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch (error) {
      throw unauthenticated('malformed token: its header is not valid base64url JSON', error);
    }
    let payload: JWTPayload;
    let source: 'token' | 'external';
    try {
      if (alg === LOCAL_ALGORITHM) {
        ({ payload } = await jwtVerify(token, this.secret, { algorithms: [LOCAL_ALGORITHM], issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, requiredClaims: REQUIRED_CLAIMS }));
        source = 'token';
      } else if (this.external) {
        const { config, key } = this.external;
        const verifyOptions = {
          algorithms: config.algorithms ?? ['RS256', 'ES256', 'EdDSA', 'PS256'],
          requiredClaims: REQUIRED_CLAIMS,
          ...(config.issuer ? { issuer: config.issuer } : {}),
          ...(config.audience ? { audience: config.audience } : {}),
        };
        ({ payload } =
          typeof key === 'function' ? await jwtVerify(token, key, verifyOptions) : await jwtVerify(token, key, verifyOptions));
        source = 'external';
      } else {
        throw unauthenticated(`token algorithm ${alg ?? '(none)'} is not accepted: tokens must be HS256 signed by this server (no external issuer is configured)`);
      }
    } catch (error) {
      throw translateJoseError(error);
    }
    return this.principalFromClaims(payload, source);
  }

  private principalFromClaims(payload: JWTPayload, source: 'token' | 'external'): Principal {
    let own: TenantRoles;
    try {
      // the flat claim only (README "Authentication"): a nested {corral: {tenants}} object is
      // another claim, which an issuer might let a user set (rules may match it explicitly)
      own = parseTenantRoles((payload as Record<string, unknown>)[TENANTS_CLAIM]);
    } catch (error) {
      throw unauthenticated(`token claim ${(error as Error).message}`);
    }
    const tenants = mergeTenantRoles(own, grantsFromRules(this.rules, payload as Record<string, unknown>));
    const subject = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : 'unnamed';
    // read as the flat claim only: a nested {corral: {minion}} object is not this claim
    const minion = (payload as Record<string, unknown>)[MINION_CLAIM];
    if (minion !== undefined && (typeof minion !== 'string' || !isValidName(minion))) {
      throw unauthenticated(`token claim ${MINION_CLAIM}: must be a minion id (got ${JSON.stringify(minion).slice(0, 80)})`);
    }
    return new Principal(subject, tenants, source, typeof payload.exp === 'number' ? payload.exp * 1000 : null, minion ?? null);
  }
}

function translateJoseError(error: unknown): CorralError {
  if (error instanceof CorralError) return error;
  if (error instanceof errors.JWTExpired) {
    const exp = (error.payload as JWTPayload | undefined)?.exp;
    return unauthenticated(`token expired${typeof exp === 'number' ? ` at ${new Date(exp * 1000).toISOString()}` : ''}`, error);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return unauthenticated('token signature is invalid: it was not signed with this server\'s key', error);
  }
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'exp' && error.reason === 'missing') {
    return unauthenticated('token has no expiry (claim "exp"): tokens must expire; mint one with `corral token --ttl`, or have the issuer set exp', error);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return unauthenticated(`token claim "${error.claim}" is invalid: ${error.reason}`, error);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return unauthenticated(`token algorithm is not accepted: ${error.message}`, error);
  if (error instanceof errors.JWKSNoMatchingKey) return unauthenticated('token key id matches no key of the external issuer', error);
  if (error instanceof errors.JWKSTimeout || (error instanceof errors.JOSEError && error.code === 'ERR_JWKS_INVALID')) {
    return new CorralError('unavailable', 'the external issuer\'s key set could not be fetched', undefined, { cause: error });
  }
  if (error instanceof errors.JOSEError) return unauthenticated(`malformed token: ${error.message}`, error);
  return unauthenticated('malformed token', error);
}
