import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Builds dist/ before the suites run, so spawned `corral` processes run the code under test. */
export default function setup(): void {
  const script = fileURLToPath(new URL('../../ops/build/build.mjs', import.meta.url));
  execFileSync(process.execPath, [script], { stdio: 'inherit', env: { ...process.env, CORRAL_QUIET_BUILD: '1' } });
}
