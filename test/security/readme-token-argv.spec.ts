import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/index.js';
import { parseCodeBlocks } from '../readme/examples.js';

// Issue 15 item 8: the README tour passed the admin token on a command line (`corral minion
// --token "$CORRAL_TOKEN"`), where every user of the host can read it (ps, /proc/<pid>/cmdline)
// for as long as the minion runs. The commands that take a token also read it from a file
// (--token-file) or CORRAL_TOKEN; the examples, which readers copy, use those.

describe('the README examples keep tokens off command lines', () => {
  it('no corral command in a run example is given --token', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const offending: string[] = [];
    for (const block of parseCodeBlocks(readme)) {
      if (block.tag !== 'sh') continue;
      for (const line of block.code.split('\n')) {
        if (/\bcorral\b.*\s--token(?:=|\s)/.test(line)) offending.push(line.trim());
      }
    }
    expect(offending).toEqual([]);
  });
});
