// `corral completion bash|zsh`: the script completes commands, flags and live targets
// (from `corral ps --json`), run here in a real bash with `corral` on PATH.
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORRAL_BIN, makeTempDir, removeTempDirs, runCorral, type ServerProcess } from '../support/index.js';
import { cleanupCorral, startCorral, waitRunning } from './support.js';

let server: ServerProcess;
let script: string;
let bin: string;
beforeAll(async () => {
  server = await startCorral({ config: { tenants: { acme: { watchers: { web: { cmd: 'sleep', args: ['341'], numprocesses: 2 } } } } } });
  await waitRunning(server, 'acme', 'web', 2);
  const printed = await runCorral(['completion', 'bash']);
  expect(printed.code, printed.stderr).toBe(0);
  const dir = makeTempDir('corral-completion-');
  script = join(dir, 'corral.bash');
  writeFileSync(script, printed.stdout);
  bin = join(dir, 'corral');
  writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${CORRAL_BIN}" "$@"\n`);
  chmodSync(bin, 0o755);
}, 60_000);
afterAll(async () => {
  await cleanupCorral([server]);
  removeTempDirs();
}, 60_000);

/** What the completion function offers for the command line typed so far. */
function complete(line: string): string[] {
  const run = spawnSync('bash', ['-c', `source "${script}"; COMP_LINE="$1"; COMP_POINT=\${#1}; _corral; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', line], {
    env: { ...process.env, PATH: `${join(bin, '..')}:${process.env.PATH}`, CORRAL_DATA_DIR: server.dataDir },
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.split('\n').filter((word) => word !== '');
}

describe('corral completion', () => {
  it('completes commands, subcommands and flags from the command table', () => {
    expect(complete('corral re')).toEqual(['restart', 'reload']);
    expect(complete('corral jobs ')).toEqual(['run', 'list', 'show']);
    expect(complete('corral logs --f')).toEqual(['--follow']);
    expect(complete('corral kill -')).toContain('--signal');
    expect(complete('corral ap')).toEqual(['apply']);
    expect(complete('corral apply --d')).toEqual(['--dry-run']);
    expect(complete('corral apply -')).toEqual(expect.arrayContaining(['--yes', '-y', '--file', '-f', '--no-wait']));
    expect(complete(`corral apply -f ${script.slice(0, -3)}`)).toEqual([script]);
  });

  it('completes targets from the running server, the part after the last colon as bash replaces it', () => {
    expect(complete('corral logs ac')).toEqual(['acme', 'acme:web', 'acme:web:0', 'acme:web:1']);
    expect(complete('corral restart acme:web:')).toEqual(['0', '1']);
  }, 30_000);

  it('zsh gets the same function through bashcompinit; another shell is a usage error', async () => {
    const zsh = await runCorral(['completion', 'zsh']);
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('complete -F _corral corral');
    const fish = await runCorral(['completion', 'fish']);
    expect(fish.code).toBe(2);
    expect(fish.stderr).toContain('unknown shell "fish"');
  }, 30_000);
});
