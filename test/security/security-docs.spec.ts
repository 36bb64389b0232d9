// docs/security.md "Processes and jobs run under their own accounts" stays exact: its
// configuration examples are valid and say what they mean, and the refusals it quotes are
// the ones the code gives (issue 15 item 1, "the docs say so").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../ops/config/index.js';
import { createAccountResolver } from '../../ops/minion/accounts.js';
import { OPERATE_JOB_FUNCTIONS } from '../../gateway/index.js';
import { REPO_ROOT } from '../support/index.js';

const HEADING = '## Processes and jobs run under their own accounts';
const doc = readFileSync(join(REPO_ROOT, 'docs/security.md'), 'utf8');
const start = doc.indexOf(HEADING);
const next = doc.indexOf('\n## ', start + HEADING.length);
const section = start < 0 ? '' : doc.slice(start, next < 0 ? undefined : next);
const yamlBlocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);

describe('docs/security.md: processes and jobs run under their own accounts', () => {
  it('has the section, linked from the README', () => {
    expect(start, `docs/security.md needs "${HEADING}"`).toBeGreaterThanOrEqual(0);
    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).toContain('(docs/security.md)');
  });

  it('gives configuration examples that are valid and mean what the text says', () => {
    expect(yamlBlocks.length).toBe(2);
    const [grant, accounts] = yamlBlocks.map((text) => parseConfigText(text, join(REPO_ROOT, 'docs', 'example.yaml')));
    expect(grant!.tenants.acme!.jobs).toEqual({ allow: { operate: ['cmd.run'] } });
    expect(accounts!.tenants.acme).toMatchObject({ user: 'acme', group: 'acme' });
    expect(accounts!.tenants.acme!.watchers.web).toMatchObject({ user: 'acme-web', cwd: '/srv/acme' });
  });

  it('lists the functions operate may run', () => {
    for (const fun of OPERATE_JOB_FUNCTIONS) expect(section).toContain(`\`${fun}\``);
  });

  it('quotes the refusals the minion gives', () => {
    const asRoot = createAccountResolver({ uid: 0 });
    expect(() => asRoot({ tenant: 'acme', user: 'root' })).toThrow('refusing to run as user root (uid 0): ');
    expect(section).toContain('refusing to run as user root (uid 0): ...');
    expect(() => asRoot({ tenant: 'acme', user: 'ghost' })).toThrow('cannot run as user ghost: no such user in /etc/passwd');
    expect(section).toContain('cannot run as user ghost: no such user in /etc/passwd');
  });
});
