import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/index.js';
import { CorralError } from '../../store/index.js';
import { Principal, TokenService, hashPassword, parsePasswordHash, verifyPassword, Authenticator, type AuthorizationRule } from '../../gateway/index.js';

const secret = new Uint8Array(48).fill(9);
let keys: Awaited<ReturnType<typeof generateKeyPair>>;
let jwksServer: Server;
let jwksUrl: string;

beforeAll(async () => {
  keys = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => jwksServer?.close());

const external = (claims: Record<string, unknown>, options: { iss?: string; aud?: string; kid?: string } = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'k1' })
    .setSubject('jane')
    .setIssuer(options.iss ?? 'https://sso.example.com')
    .setAudience(options.aud ?? 'corral')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(keys.privateKey);

async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(CorralError);
  expect((error as CorralError).code).toBe('unauthenticated');
  return (error as Error).message;
}

describe('external issuer and authorization rules', () => {
  const rules: AuthorizationRule[] = [
    { tenant: 'acme', role: 'operate', claims: { groups: 'ops' } },
    { tenant: '*', role: 'read', claims: { 'realm_access.roles': ['auditor', 'viewer'] } },
  ];

  it('verifies tokens against a JWKS URL and grants roles from claims by rule', async () => {
    const service = new TokenService({ secret, external: { jwksUrl, issuer: 'https://sso.example.com', audience: 'corral' }, rules });
    const ops = await service.verify(await external({ groups: ['dev', 'ops'] }));
    expect(ops).toMatchObject({ subject: 'jane', source: 'external', tenants: { acme: 'operate' } });
    const auditor = await service.verify(await external({ realm_access: { roles: ['auditor'] }, 'corral.tenants': { acme: 'admin' } }));
    expect(auditor.tenants).toEqual({ acme: 'admin', '*': 'read' });
    expect(auditor.roleFor('globex')).toBe('read');
    const nobody = await service.verify(await external({ groups: 'sales' }));
    expect(nobody.tenants).toEqual({});
    expect(() => nobody.require('acme', 'read')).toThrow('jane has no access to tenant acme');
  });

  it('verifies tokens against a PEM public key, checking issuer and audience', async () => {
    const service = new TokenService({ secret, external: { publicKey: await exportSPKI(keys.publicKey), issuer: 'https://sso.example.com', audience: 'corral' }, rules });
    expect((await service.verify(await external({ groups: 'ops' }))).tenants).toEqual({ acme: 'operate' });
    expect(await reason(service.verify(await external({}, { aud: 'other-app' })))).toMatch(/claim "aud"/);
    expect(await reason(service.verify(await external({}, { iss: 'https://evil.example.com' })))).toMatch(/claim "iss"/);
  });

  it('rejects RS256 tokens when no external issuer is configured, and HS256 tokens signed with another key', async () => {
    const local = new TokenService({ secret });
    expect(await reason(local.verify(await external({})))).toMatch(/RS256 is not accepted/);
    const other = new TokenService({ secret: new Uint8Array(48).fill(1) });
    const foreign = await other.issue({ subject: 'x', tenants: { '*': 'admin' }, ttlMs: 60_000 });
    expect(await reason(local.verify(foreign.token))).toMatch(/signature is invalid/);
  });
});

describe('verified-token cache', () => {
  it('never serves a cached token past its expiry', async () => {
    const service = new TokenService({ secret });
    const { token } = await service.issue({ subject: 'brief', tenants: { acme: 'read' }, ttlMs: 1000 });
    const first = await service.verify(token);
    expect(await service.verify(token)).toBe(first); // the cache hit
    await waitFor(() => service.verify(token).then(() => false, (e: Error) => /token expired/.test(e.message)), {
      timeoutMs: 5000,
      description: 'the cached token to expire',
    });
  });
});

describe('principal', () => {
  it('orders roles and combines tenant grants with the * grant', () => {
    const p = new Principal('bob', { acme: 'admin', '*': 'read' }, 'token');
    expect(p.roleFor('acme')).toBe('admin');
    expect(p.roleFor('globex')).toBe('read');
    expect(p.has('globex', 'operate')).toBe(false);
    expect(p.visibleTenants(['acme', 'globex'])).toEqual(['acme', 'globex']);
    expect(p.hasClusterRole('read')).toBe(true);
    expect(p.hasClusterRole('admin')).toBe(false);
    expect(() => p.require('globex', 'operate')).toThrow('bob has role read on tenant globex; this needs operate');
    expect(() => Principal.anonymous().require('acme', 'read')).toThrow(expect.objectContaining({ code: 'unauthenticated' }));
  });
});

describe('passwords', () => {
  it('hashes with scrypt and a random salt, verifies, and rejects malformed hashes', async () => {
    const [a, b] = await Promise.all([hashPassword('pw'), hashPassword('pw')]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('pw', parsePasswordHash(a))).toBe(true);
    expect(await verifyPassword('pW', parsePasswordHash(a))).toBe(false);
    for (const bad of ['', 'bcrypt$x', 'scrypt$3$8$1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', 'scrypt$16384$8$1$$']) {
      expect(() => parsePasswordHash(bad)).toThrow(/invalid password hash/);
    }
  });

  it('logs in users; with auth none, login is refused and everyone is admin', async () => {
    const service = new TokenService({ secret });
    const auth = new Authenticator({ mode: 'tokens', tokens: service, users: [{ name: 'salt', passwordHash: await hashPassword('pw'), tenants: { acme: 'operate' } }] });
    const login = await auth.login('salt', 'pw');
    expect((await service.verify(login.token)).tenants).toEqual({ acme: 'operate' });
    const none = new Authenticator({ mode: 'none' });
    expect((await none.authenticateRequest({ headers: {}, query: {} }, false)).hasClusterRole('admin')).toBe(true);
    await expect(none.login('salt', 'pw')).rejects.toThrow(/auth is switched off/);
  });
});
