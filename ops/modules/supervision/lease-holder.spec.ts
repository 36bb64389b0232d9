import { describe, expect, it } from 'vitest';
import { holderGoneOnThisHost } from './lease-holder.js';

describe('holderGoneOnThisHost', () => {
  const alive = (pid: number): boolean => pid === 42;
  it('is true only for a pid of this host that no longer runs', () => {
    expect(holderGoneOnThisHost('box:41', 'box', alive)).toBe(true);
    expect(holderGoneOnThisHost('box:42', 'box', alive)).toBe(false);
  });
  it('never judges another host, nor a key that is not <host>:<pid>', () => {
    expect(holderGoneOnThisHost('other:41', 'box', alive)).toBe(false);
    for (const holder of ['box', ':41', 'box:', 'box:x', 'box:-1', 'box:4.5']) expect(holderGoneOnThisHost(holder, 'box', alive)).toBe(false);
  });
  it('takes the pid after the last colon (host names with colons, such as IPv6 literals)', () => {
    expect(holderGoneOnThisHost('fe80::1:41', 'fe80::1', alive)).toBe(true);
  });
  it('reads the live process of this test as alive', () => {
    expect(holderGoneOnThisHost(`h:${process.pid}`, 'h')).toBe(false);
  });
});
