import { resolve } from 'node:path';
import { isValidName, NAME_PATTERN, isInvalidArgumentError } from '../../store/index.js';
import { ACCOUNT_PATTERN, FUN_PATTERN, parseWatcherSpec, type WatcherSpec } from '../../actors/index.js';
import {
  isRole,
  parseDuration,
  parsePasswordHash,
  parseTenantRoles,
  type AuthUser,
  type AuthorizationRule,
  type ClaimValue,
  type ExternalIssuerConfig,
  type JobGrants,
  type Role,
} from '../../gateway/index.js';
import { boolean, describe, fail, integer, join, list, mapping, object, oneOf, string } from './fields.js';

export const STORE_KINDS = ['embedded', 'memory', 'kurrentdb'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export type AuthConfig =
  | { mode: 'none' }
  | {
      mode: 'tokens';
      jwt: ExternalIssuerConfig | null;
      users: AuthUser[];
      rules: AuthorizationRule[];
      /** lifetime of tokens from POST /login */
      tokenTtlMs: number;
    };

export interface TenantConfig {
  watchers: Record<string, WatcherSpec>;
  /**
   * `jobs.allow.operate`: job functions beyond the default ones (test.*, grains.items,
   * proc.list) that the tenant's `operate` role may run, e.g. `[cmd.run]`; without it they
   * need `admin` (docs/security.md). Present only when configured.
   */
  jobs?: { allow: JobGrants };
  /**
   * The OS account the tenant's processes and job commands run as (a watcher's own
   * `user`/`group` wins); without it a root minion uses `nobody` (docs/security.md).
   * Present only when configured.
   */
  user?: string;
  group?: string;
}

/** The validated configuration (docs/operations.md; README "CLI" and "Configuration"), every default filled in. */
export interface CorralConfig {
  server: { host: string; port: number; dataDir: string };
  store: { kind: StoreKind; url: string | null };
  auth: AuthConfig;
  tenants: Record<string, TenantConfig>;
  minion: { local: boolean; id: string | null; grains: Record<string, string> };
}

export const DEFAULT_LOGIN_TTL_MS = 12 * 3_600_000;

export function defaultConfig(cwd = process.cwd()): CorralConfig {
  return {
    server: { host: '127.0.0.1', port: 8080, dataDir: resolve(cwd, '.corral') },
    store: { kind: 'embedded', url: null },
    auth: { mode: 'tokens', jwt: null, users: [], rules: [], tokenTtlMs: DEFAULT_LOGIN_TTL_MS },
    tenants: {},
    minion: { local: true, id: null, grains: {} },
  };
}

/**
 * Validates a parsed (and interpolated) config document. Relative paths (`server.dataDir`)
 * are resolved against `baseDir`, the directory of the config file.
 */
export function validateConfig(raw: unknown, baseDir: string): CorralConfig {
  const config = defaultConfig();
  if (raw === null || raw === undefined) return config;
  // Top-level `x-...` keys are extension fields (as in compose files): a home for anchors.
  const withoutExtensions =
    typeof raw === 'object' && !Array.isArray(raw) ? Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith('x-'))) : raw;
  const root = object(withoutExtensions, 'config', ['server', 'store', 'auth', 'tenants', 'minion']);

  if (root.server !== undefined && root.server !== null) {
    const server = object(root.server, 'server', ['host', 'port', 'dataDir']);
    if (server.host !== undefined) config.server.host = string(server.host, 'server.host', { pattern: /^[A-Za-z0-9.:_[\]-]{1,253}$/, patternText: 'a host name or IP address' });
    if (server.port !== undefined) config.server.port = integer(server.port, 'server.port', 0, 65535);
    if (server.dataDir !== undefined) config.server.dataDir = resolve(baseDir, string(server.dataDir, 'server.dataDir'));
  }

  if (root.store !== undefined && root.store !== null) {
    const store = object(root.store, 'store', ['kind', 'url']);
    if (store.kind !== undefined) config.store.kind = oneOf(store.kind, 'store.kind', STORE_KINDS);
    if (store.url !== undefined && store.url !== null) config.store.url = string(store.url, 'store.url');
    if (config.store.kind === 'kurrentdb' && !config.store.url) fail('store.url', 'is required when store.kind is kurrentdb (e.g. kurrentdb://localhost:2113?tls=false)');
  }

  if (root.auth !== undefined && root.auth !== null) config.auth = validateAuth(root.auth);

  for (const [tenant, value] of Object.entries(mapping(root.tenants, 'tenants'))) {
    const path = join('tenants', tenant);
    if (!isValidName(tenant)) fail(path, `invalid tenant name: must match ${NAME_PATTERN.source}`);
    const watchers: Record<string, WatcherSpec> = {};
    const section: TenantConfig = { watchers };
    if (value !== null && value !== undefined) {
      const tenantInput = object(value, path, ['watchers', 'jobs', 'user', 'group']);
      for (const [watcher, spec] of Object.entries(mapping(tenantInput.watchers, join(path, 'watchers')))) {
        const watcherPath = join(join(path, 'watchers'), watcher);
        if (!isValidName(watcher)) fail(watcherPath, `invalid watcher name: must match ${NAME_PATTERN.source}`);
        watchers[watcher] = parseWatcherSpec(spec, watcherPath);
      }
      for (const field of ['user', 'group'] as const) {
        const account = tenantInput[field];
        if (account === undefined || account === null) continue;
        section[field] = string(typeof account === 'number' ? String(account) : account, join(path, field), {
          pattern: ACCOUNT_PATTERN,
          patternText: 'an account name or number',
        });
      }
      if (tenantInput.jobs !== undefined && tenantInput.jobs !== null) section.jobs = { allow: validateJobGrants(tenantInput.jobs, join(path, 'jobs')) };
    }
    config.tenants[tenant] = section;
  }

  if (root.minion !== undefined && root.minion !== null) {
    const minion = object(root.minion, 'minion', ['local', 'id', 'grains']);
    if (minion.local !== undefined) config.minion.local = boolean(minion.local, 'minion.local');
    if (minion.id !== undefined && minion.id !== null) {
      config.minion.id = string(minion.id, 'minion.id', { pattern: NAME_PATTERN, patternText: NAME_PATTERN.source });
    }
    for (const [key, value] of Object.entries(mapping(minion.grains, 'minion.grains'))) {
      if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/.test(key)) fail(join('minion.grains', key), 'invalid grain name');
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') fail(join('minion.grains', key), `must be a scalar (got ${describe(value)})`);
      config.minion.grains[key] = String(value);
    }
  }
  return config;
}

/** `jobs: { allow: { operate: [cmd.run] } }`: function names, exactly (no globs: a grant is spelled out). */
function validateJobGrants(value: unknown, path: string): JobGrants {
  const jobs = object(value, path, ['allow']);
  const allowPath = join(path, 'allow');
  const allow = object(jobs.allow ?? {}, allowPath, ['operate']);
  const grants: JobGrants = {};
  if (allow.operate !== undefined && allow.operate !== null) {
    const operatePath = join(allowPath, 'operate');
    grants.operate = list(allow.operate, operatePath).map((fun, i) =>
      string(fun, `${operatePath}[${i}]`, { pattern: FUN_PATTERN, patternText: 'a job function name like cmd.run' }),
    );
  }
  return grants;
}

function validateAuth(value: unknown): AuthConfig {
  if (value === 'none') return { mode: 'none' };
  if (typeof value === 'string') fail('auth', `must be "none" or a mapping with jwt, users, rules, tokenTtl (got ${describe(value)})`);
  const auth = object(value, 'auth', ['jwt', 'users', 'rules', 'tokenTtl']);
  const result: AuthConfig = { mode: 'tokens', jwt: null, users: [], rules: [], tokenTtlMs: DEFAULT_LOGIN_TTL_MS };
  if (auth.tokenTtl !== undefined) result.tokenTtlMs = rethrowAt('auth.tokenTtl', () => parseDuration(auth.tokenTtl, 'auth.tokenTtl'));

  if (auth.jwt !== undefined && auth.jwt !== null) {
    const jwt = object(auth.jwt, 'auth.jwt', ['jwksUrl', 'publicKey', 'issuer', 'audience', 'algorithms']);
    const issuer: ExternalIssuerConfig = {};
    if (jwt.jwksUrl !== undefined) {
      const url = string(jwt.jwksUrl, 'auth.jwt.jwksUrl');
      if (!/^https?:\/\//.test(url)) fail('auth.jwt.jwksUrl', 'must be an http(s) URL');
      issuer.jwksUrl = url;
    }
    if (jwt.publicKey !== undefined) {
      const pem = string(jwt.publicKey, 'auth.jwt.publicKey');
      if (!pem.includes('-----BEGIN')) fail('auth.jwt.publicKey', 'must be a PEM public key or certificate (-----BEGIN PUBLIC KEY-----)');
      issuer.publicKey = pem;
    }
    if (!issuer.jwksUrl === !issuer.publicKey) fail('auth.jwt', 'needs exactly one of jwksUrl or publicKey');
    if (jwt.issuer !== undefined) issuer.issuer = string(jwt.issuer, 'auth.jwt.issuer');
    if (jwt.audience !== undefined) {
      issuer.audience = Array.isArray(jwt.audience)
        ? jwt.audience.map((a, i) => string(a, `auth.jwt.audience[${i}]`))
        : string(jwt.audience, 'auth.jwt.audience');
    }
    if (jwt.algorithms !== undefined) {
      issuer.algorithms = list(jwt.algorithms, 'auth.jwt.algorithms').map((a, i) =>
        oneOf(a, `auth.jwt.algorithms[${i}]`, ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']),
      );
    }
    result.jwt = issuer;
  }

  const seen = new Set<string>();
  list(auth.users, 'auth.users').forEach((entry, i) => {
    const path = `auth.users[${i}]`;
    const user = object(entry, path, ['name', 'passwordHash', 'tenants']);
    const name = string(user.name, join(path, 'name'), { pattern: NAME_PATTERN, patternText: NAME_PATTERN.source });
    if (seen.has(name)) fail(join(path, 'name'), `duplicate user ${name}`);
    seen.add(name);
    const passwordHash = string(user.passwordHash, join(path, 'passwordHash'));
    rethrowAt(join(path, 'passwordHash'), () => parsePasswordHash(passwordHash));
    const tenants = rethrowAt(join(path, 'tenants'), () => parseTenantRoles(user.tenants ?? {}, join(path, 'tenants')));
    result.users.push({ name, passwordHash, tenants });
  });

  list(auth.rules, 'auth.rules').forEach((entry, i) => {
    const path = `auth.rules[${i}]`;
    const rule = object(entry, path, ['tenant', 'role', 'claims']);
    const tenant = string(rule.tenant, join(path, 'tenant'));
    if (tenant !== '*' && !isValidName(tenant)) fail(join(path, 'tenant'), `must be a tenant name or "*" (got ${JSON.stringify(tenant)})`);
    if (!isRole(rule.role)) fail(join(path, 'role'), `must be read, operate or admin (got ${describe(rule.role)})`);
    const claimsPath = join(path, 'claims');
    const claims: Record<string, ClaimValue | ClaimValue[]> = {};
    for (const [claim, expected] of Object.entries(mapping(rule.claims, claimsPath))) {
      const isScalar = (v: unknown): v is ClaimValue => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
      if (isScalar(expected)) claims[claim] = expected;
      else if (Array.isArray(expected) && expected.length > 0 && expected.every(isScalar)) claims[claim] = expected;
      else fail(join(claimsPath, claim), 'must be a value or a non-empty list of values');
    }
    if (Object.keys(claims).length === 0) fail(claimsPath, 'must name at least one claim (a rule matching every token would be a hole)');
    result.rules.push({ tenant, role: rule.role as Role, claims });
  });
  return result;
}

/** Re-throws a validation error from a helper with the field path in front. */
function rethrowAt<T>(path: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (isInvalidArgumentError(error) && !error.message.startsWith(path)) fail(path, error.message);
    throw error;
  }
}
