import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDirs } from '../../test/support/index.js';
import { accountSpawnOptions, createAccountResolver } from './accounts.js';

const dir = makeTempDir('corral-accounts-');
const passwdFile = join(dir, 'passwd');
const groupFile = join(dir, 'group');
writeFileSync(passwdFile, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nweb:x:1001:1001::/home/web:/bin/sh\n');
writeFileSync(groupFile, 'root:x:0:\nnogroup:x:65534:\nweb:x:1001:\nstaff:x:50:\n');
afterAll(() => removeTempDirs());

describe('the account of a run', () => {
  const asRoot = createAccountResolver({ uid: 0, passwdFile, groupFile });
  it('as root: nobody by default, the named user with its primary group, or a named group', () => {
    expect(asRoot({})).toEqual({ uid: 65534, gid: 65534, user: 'nobody', home: '/nonexistent' });
    expect(asRoot({ user: 'web' })).toEqual({ uid: 1001, gid: 1001, user: 'web', home: '/home/web' });
    expect(asRoot({ user: 'web', group: 'staff' })).toMatchObject({ uid: 1001, gid: 50 });
    expect(asRoot({ user: '1001' })).toMatchObject({ uid: 1001, user: 'web' });
    expect(asRoot({ user: '4242', group: '4242' })).toMatchObject({ uid: 4242, gid: 4242, home: '/' });
  });
  it('as root: never root, and unknown accounts are named', () => {
    expect(() => asRoot({ user: 'root' })).toThrow('refusing to run as user root (uid 0)');
    expect(() => asRoot({ user: '0', group: '65534' })).toThrow('refusing to run as user 0 (uid 0)');
    expect(() => asRoot({ user: 'web', group: 'root' })).toThrow('refusing to run as group root (gid 0)');
    expect(() => asRoot({ user: 'ghost' })).toThrow(`cannot run as user ghost: no such user in ${passwdFile}`);
    expect(() => asRoot({ user: 'web', group: 'ghosts' })).toThrow('no such group');
    expect(() => asRoot({ user: '4242' })).toThrow('give a group too');
  });
  it('as another user: runs as itself, and refuses to switch', () => {
    const asUser = createAccountResolver({ uid: 1000, passwdFile, groupFile });
    expect(asUser({})).toBeNull();
    expect(asUser({ user: userInfo().username })).toBeNull();
    expect(() => asUser({ user: 'web-other-than-me' })).toThrow(/not root, so it can only run processes as itself/);
  });
  it('gives a run under another account its HOME and / as its directory', () => {
    const account = asRoot({})!;
    expect(accountSpawnOptions(account, null)).toEqual({ envDefaults: { HOME: '/nonexistent', USER: 'nobody', LOGNAME: 'nobody' }, cwd: '/', ids: { uid: 65534, gid: 65534 } });
    expect(accountSpawnOptions(account, '/srv').cwd).toBe('/srv');
    expect(accountSpawnOptions(null, null)).toEqual({ envDefaults: {}, cwd: undefined, ids: {} });
  });
});
