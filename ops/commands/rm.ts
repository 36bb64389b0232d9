import { CONTROL_USAGE, noExtraArguments, postCommand, runControl, watcherPath } from './control.js';

export const usage = `corral rm ${CONTROL_USAGE} TENANT:WATCHER`;

/** `corral rm`: destroys a watcher (`DELETE .../watchers/{w}`, admin) and waits until its processes are gone. */
export async function run(argv: string[]): Promise<number> {
  return runControl(argv, { least: 'watcher', most: 'watcher' }, ({ extra }) => {
    noExtraArguments(extra);
    return {
      waitingFor: 'its processes to be removed',
      send: ({ server, target }) => postCommand(server, watcherPath(target), undefined, 'DELETE'),
      settled: (snapshot) => snapshot.processes.length === 0,
    };
  });
}
