import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDirs } from '../../test/support/index.js';
import { tenantDefaultUid } from '../../actors/index.js';
import { accountSpawnOptions, createAccountResolver } from './accounts.js';

const dir = makeTempDir('corral-accounts-');
const passwdFile = join(dir, 'passwd');
const groupFile = join(dir, 'group');
writeFileSync(passwdFile, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nweb:x:1001:1001::/home/web:/bin/sh\n');
writeFileSync(groupFile, 'root:x:0:\nnogroup:x:65534:\nweb:x:1001:\nstaff:x:50:\n');
afterAll(() => removeTempDirs());

describe('the account of a run', () => {
  const asRoot = createAccountResolver({ uid: 0, passwdFile, groupFile });
  it("as root: the tenant's own uid by default, the named user with its primary group, or a named group", () => {
    const acme = tenantDefaultUid('acme');
    expect(asRoot({ tenant: 'acme' })).toEqual({ uid: acme, gid: acme, user: String(acme), home: '/' });
    expect(asRoot({ tenant: 'beta' })!.uid).toBe(tenantDefaultUid('beta'));
    expect(tenantDefaultUid('beta')).not.toBe(acme);
    expect(asRoot({ tenant: 'acme', group: 'staff' })).toMatchObject({ uid: acme, gid: 50 });
    expect(() => asRoot({ tenant: 'acme', group: 'root' })).toThrow('refusing to run as group root (gid 0)');
    expect(asRoot({ tenant: 'acme', user: 'web' })).toEqual({ uid: 1001, gid: 1001, user: 'web', home: '/home/web' });
    expect(asRoot({ tenant: 'acme', user: 'web', group: 'staff' })).toMatchObject({ uid: 1001, gid: 50 });
    expect(asRoot({ tenant: 'acme', user: '1001' })).toMatchObject({ uid: 1001, user: 'web' });
    expect(asRoot({ tenant: 'acme', user: '4242', group: '4242' })).toMatchObject({ uid: 4242, gid: 4242, home: '/' });
  });
  it('as root: never root, and unknown accounts are named', () => {
    expect(() => asRoot({ tenant: 'acme', user: 'root' })).toThrow('refusing to run as user root (uid 0)');
    expect(() => asRoot({ tenant: 'acme', user: '0', group: '65534' })).toThrow('refusing to run as user 0 (uid 0)');
    expect(() => asRoot({ tenant: 'acme', user: 'web', group: 'root' })).toThrow('refusing to run as group root (gid 0)');
    expect(() => asRoot({ tenant: 'acme', user: 'ghost' })).toThrow(`cannot run as user ghost: no such user in ${passwdFile}`);
    expect(() => asRoot({ tenant: 'acme', user: 'web', group: 'ghosts' })).toThrow('no such group');
    expect(() => asRoot({ tenant: 'acme', user: '4242' })).toThrow('give a group too');
  });
  it('as another user: runs as itself, and refuses to switch', () => {
    const asUser = createAccountResolver({ uid: 1000, passwdFile, groupFile });
    expect(asUser({ tenant: 'acme' })).toBeNull();
    expect(asUser({ tenant: 'acme', user: userInfo().username })).toBeNull();
    expect(() => asUser({ tenant: 'acme', user: 'web-other-than-me' })).toThrow(/not root, so it can only run processes as itself/);
  });
  it('gives a run under another account its HOME and / as its directory', () => {
    const account = asRoot({ tenant: 'acme' })!;
    const acme = tenantDefaultUid('acme');
    expect(accountSpawnOptions(account, null)).toEqual({ envDefaults: { HOME: '/', USER: String(acme), LOGNAME: String(acme) }, cwd: '/', ids: { uid: acme, gid: acme } });
    expect(accountSpawnOptions(account, '/srv').cwd).toBe('/srv');
    expect(accountSpawnOptions(null, null)).toEqual({ envDefaults: {}, cwd: undefined, ids: {} });
  });
});
