import { CONTROL_USAGE, postCommand, runControl, watcherPath } from './control.js';
import { integerFlag, UsageError } from './usage.js';

export const usage = `corral scale ${CONTROL_USAGE} TENANT:WATCHER N`;

/**
 * `corral scale`: sets the watcher's `numprocesses` (`PATCH .../watchers/{w}`, which needs
 * admin on the tenant) and waits until the view has N slots, each running while the
 * watcher is active.
 */
export async function run(argv: string[]): Promise<number> {
  return runControl(argv, { least: 'watcher', most: 'watcher' }, ({ extra }) => {
    if (extra.length !== 1) throw new UsageError(extra.length === 0 ? 'the number of processes is missing: corral scale TENANT:WATCHER N' : `unexpected argument ${JSON.stringify(extra[1])}`);
    const count = integerFlag(extra[0], 'N', 0, 10_000)!;
    return {
      waitingFor: `${count} process(es)`,
      send: ({ server, target }) => postCommand(server, watcherPath(target), { numprocesses: count }, 'PATCH'),
      settled: (snapshot, { watcher }) => snapshot.processes.length === count && (!watcher!.active || snapshot.processes.every((p) => p.state === 'running')),
      headline: (after, { target, watcher }) => `${target.tenant}:${target.watcher}: ${watcher!.numprocesses} → ${after.processes.length} process(es)`,
    };
  });
}
