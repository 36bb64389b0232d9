import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/index.js';
import { tenantConfigDigest } from './config-digest.js';

const section = (text: string, env: Record<string, string> = {}) => parseConfigText(text, '/etc/corral/corral.yaml', env).tenants.acme!;

describe('tenantConfigDigest', () => {
  it('is the same for the same section however it is written', () => {
    const plain = section('tenants:\n  acme:\n    watchers:\n      web: { cmd: node, args: [a.js], numprocesses: 2 }\n');
    const reordered = section(`
# a comment
x-base: &base { numprocesses: 2 }
tenants:
  acme:
    watchers:
      web:
        <<: *base
        args: [a.js]
        cmd: node
        stopSignal: SIGTERM   # the default, spelled out
`);
    expect(tenantConfigDigest(reordered)).toBe(tenantConfigDigest(plain));
    expect(tenantConfigDigest(plain)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with any value, the order of args, and an interpolated variable', () => {
    const base = 'tenants:\n  acme:\n    watchers:\n      web: { cmd: node, args: [a.js, b.js], env: { PORT: "${PORT}" } }\n';
    const digest = tenantConfigDigest(section(base, { PORT: '1' }));
    expect(tenantConfigDigest(section(base, { PORT: '2' }))).not.toBe(digest);
    expect(tenantConfigDigest(section(base.replace('[a.js, b.js]', '[b.js, a.js]'), { PORT: '1' }))).not.toBe(digest);
    expect(tenantConfigDigest(section(base.replace('cmd: node', 'cmd: deno'), { PORT: '1' }))).not.toBe(digest);
    expect(tenantConfigDigest(section('tenants:\n  acme: {}\n'))).not.toBe(digest);
  });
});
