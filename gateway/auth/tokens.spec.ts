// A thousand clients reconnecting with one token share one signature check; a bad token
// still fails every one of them with its reason, and is not remembered.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MINION_CLAIM, TokenService } from './tokens.js';

describe('TokenService.verify under concurrency', () => {
  it('gives every concurrent caller the same principal and the same error', async () => {
    const tokens = new TokenService({ secret: new Uint8Array(randomBytes(32)) });
    const { token } = await tokens.issue({ subject: 'ops', tenants: { acme: 'read' }, ttlMs: 60_000 });
    const principals = await Promise.all(Array.from({ length: 100 }, () => tokens.verify(token)));
    expect(new Set(principals).size).toBe(1);
    expect(principals[0]!.subject).toBe('ops');

    const forged = `${token.slice(0, -4)}AAAA`;
    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, () => tokens.verify(forged)));
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    const reasons = new Set(outcomes.map((o) => (o as PromiseRejectedResult).reason.message));
    expect(reasons.size).toBe(1);
    // a failed check is not cached: the next one fails again on its own
    await expect(tokens.verify(forged)).rejects.toThrow([...reasons][0]);
  });
});

describe('minion tokens (claim corral.minion)', () => {
  it('carry the minion id they are minted for; a malformed id is refused with the reason', async () => {
    const tokens = new TokenService({ secret: new Uint8Array(randomBytes(32)) });
    const minted = await tokens.issue({ subject: 'cli', tenants: { acme: 'operate' }, ttlMs: 60_000, extraClaims: { [MINION_CLAIM]: 'web1' } });
    expect((await tokens.verify(minted.token)).minion).toBe('web1');
    const plain = await tokens.issue({ subject: 'cli', tenants: { acme: 'operate' }, ttlMs: 60_000 });
    expect((await tokens.verify(plain.token)).minion).toBeNull();
    const bad = await tokens.issue({ subject: 'cli', tenants: { acme: 'operate' }, ttlMs: 60_000, extraClaims: { [MINION_CLAIM]: 'Not A Name' } });
    await expect(tokens.verify(bad.token)).rejects.toThrow(/token claim corral.minion: must be a minion id/);
  });
});
