import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, importPKCS8 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, removeTempDirs, runCorral, startServerProcess, type ServerProcess } from '../support/index.js';

// Issue 15 item 8: token claims are read only in their documented shape, and every token expires.

const EXTERNAL_ISSUER = 'https://sso.example.test';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const privatePem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

let server: ServerProcess;
let secret: Uint8Array;

beforeAll(async () => {
  server = await startServerProcess({
    config: {
      auth: { jwt: { publicKey: publicPem, issuer: EXTERNAL_ISSUER, audience: 'corral' } },
      tenants: { acme: { watchers: {} }, other: { watchers: {} } },
    },
  });
  secret = Buffer.from(readFileSync(join(server.dataDir, 'secret'), 'utf8').trim(), 'base64url');
});
afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

/** A token signed with the server's own key, with exactly these claims (iat only when asked). */
function local(claims: Record<string, unknown>, exp: number | null): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject('someone').setIssuer('corral').setAudience('corral').setIssuedAt();
  if (exp !== null) jwt.setExpirationTime(exp);
  return jwt.sign(secret);
}

async function external(claims: Record<string, unknown>, exp: number | null): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setSubject('sso-user').setIssuer(EXTERNAL_ISSUER).setAudience('corral').setIssuedAt();
  if (exp !== null) jwt.setExpirationTime(exp);
  return jwt.sign(await importPKCS8(privatePem, 'RS256'));
}

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
const info = (token: string, tenant = 'acme') => httpJson(`${server.url}/api/v1/tenants/${tenant}/info`, { token });

describe('every token expires', () => {
  it('a local token without exp is refused with a clear 401', async () => {
    const withExp = await info(await local({ 'corral.tenants': { acme: 'read' } }, inAnHour()));
    expect(withExp.status).toBe(200);
    const answer = await info(await local({ 'corral.tenants': { acme: 'read' } }, null));
    expect(answer.status).toBe(401);
    expect(answer.body.error.message).toMatch(/no expiry.*"exp"/);
  });

  it('an external token without exp is refused too', async () => {
    expect((await info(await external({ 'corral.tenants': { acme: 'read' } }, inAnHour()))).status).toBe(200);
    const answer = await info(await external({ 'corral.tenants': { acme: 'read' } }, null));
    expect(answer.status).toBe(401);
    expect(answer.body.error.message).toMatch(/no expiry.*"exp"/);
  });

  it('corral token always sets exp', async () => {
    const minted = await runCorral(['token', '--data-dir', server.dataDir, '--tenant', 'acme', '--role', 'read']);
    expect(minted.code).toBe(0);
    const token = minted.stdout.trim();
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(typeof payload.exp).toBe('number');
    expect((await info(token)).status).toBe(200);
  });
});

describe('the roles claim is read only as documented: the flat claim "corral.tenants"', () => {
  it('a nested {corral: {tenants}} object grants nothing, from this server or an external issuer', async () => {
    const nested = { corral: { tenants: { acme: 'admin' } } };
    for (const token of [await local(nested, inAnHour()), await external(nested, inAnHour())]) {
      const answer = await info(token);
      expect(answer.status).toBe(403);
      expect(answer.body.error.message).toMatch(/has no role on tenant acme|acme/);
    }
  });

  it('next to a flat claim, the nested one adds nothing', async () => {
    const token = await local({ 'corral.tenants': { acme: 'read' }, corral: { tenants: { other: 'admin' } } }, inAnHour());
    expect((await info(token, 'acme')).status).toBe(200);
    expect((await info(token, 'other')).status).toBe(403);
  });
});
