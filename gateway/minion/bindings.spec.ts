import { describe, expect, it } from 'vitest';
import { openMemoryStore } from '../../store/index.js';
import { memoryMinionBindings, minionBindingStream, minionCredential, storeMinionBindings } from './bindings.js';

const admin = minionCredential({ source: 'token', subject: 'admin', tenants: ['*'], minion: null });
const acmeOps = minionCredential({ source: 'token', subject: 'admin', tenants: ['acme'], minion: null });
const webToken = minionCredential({ source: 'token', subject: 'anyone', tenants: ['acme'], minion: 'web1' });

describe('minion id bindings', () => {
  it('a credential is the source, subject and tenants; minion tokens for one id are one credential', () => {
    expect(admin).not.toBe(acmeOps);
    expect(minionCredential({ source: 'token', subject: 'x', tenants: ['b', 'a'], minion: null })).toBe(minionCredential({ source: 'token', subject: 'x', tenants: ['a', 'b'], minion: null }));
    expect(minionCredential({ source: 'token', subject: 'other', tenants: ['beta'], minion: 'web1' })).toBe(webToken);
  });

  for (const [name, make] of [
    ['in memory', () => memoryMinionBindings()],
    ['in the store', () => storeMinionBindings(openMemoryStore(), 'node-1')],
  ] as const) {
    it(`${name}: first credential owns the id, others are refused, a minion token for the id takes it over`, async () => {
      const bindings = make();
      expect(await bindings.claim('web1', acmeOps)).toEqual({ accepted: true });
      expect(await bindings.claim('web1', acmeOps)).toEqual({ accepted: true });
      expect(await bindings.claim('web1', admin)).toEqual({ accepted: false, reason: 'minion id web1 is bound to another credential' });
      expect(await bindings.claim('web1', webToken)).toEqual({ accepted: true });
      expect((await bindings.claim('web1', acmeOps)).accepted).toBe(false);
      // a minion token for web1 is no credential for another id that is bound
      await bindings.bind('local', admin);
      expect((await bindings.claim('local', webToken)).accepted).toBe(false);
    });
  }

  it('in the store: bindings hold across nodes and restarts, and the stored event names no credential', async () => {
    const store = openMemoryStore();
    expect(await storeMinionBindings(store, 'node-1').claim('web1', acmeOps)).toEqual({ accepted: true });
    // another node (or this one restarted) reads the binding back
    const other = storeMinionBindings(store, 'node-2');
    expect((await other.claim('web1', admin)).accepted).toBe(false);
    expect((await other.claim('web1', acmeOps)).accepted).toBe(true);
    // two nodes claiming a fresh id at once for two credentials: exactly one wins
    const results = await Promise.all([storeMinionBindings(store, 'a').claim('fresh', acmeOps), storeMinionBindings(store, 'b').claim('fresh', admin)]);
    expect(results.filter((r) => r.accepted)).toHaveLength(1);
    const [event] = await store.readStream(minionBindingStream('web1'));
    expect(event).toMatchObject({ type: 'bindings', action: 'bind', key: 'web1' });
    expect(JSON.stringify(event!.data)).not.toMatch(/admin|acme|token/);
  });
});
