import { CONTROL_USAGE, noExtraArguments, postCommand, processPath, runControl } from './control.js';
import { CorralError } from '../../store/index.js';
import { describeProcess } from './processes.js';
import { targetKey } from './targets.js';

export const usage = `corral kill ${CONTROL_USAGE} [-s|--signal SIGNAL] TENANT:WATCHER[:SLOT]`;

/**
 * Signals that programs handle without exiting by convention (reload, log reopen, job
 * control): for these `kill` waits only until the kill is recorded, not for an exit.
 */
const NOT_FATAL = new Set(['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGCHLD']);

/**
 * `corral kill`: sends SIGNAL (default SIGTERM; `KILL` means SIGKILL) to the process of one
 * slot, or of every slot of a watcher (`POST .../processes/{w}:{slot}/kill`), then waits
 * until each old process has exited; the watcher's restart policy applies as after any exit.
 */
export async function run(argv: string[]): Promise<number> {
  return runControl(
    argv,
    { least: 'watcher', most: 'slot' },
    ({ target, values, extra }) => {
      noExtraArguments(extra);
      const given = ((values.signal as string | undefined) ?? 'SIGTERM').toUpperCase();
      const signal = given.startsWith('SIG') || /^\d+$/.test(given) ? given : `SIG${given}`;
      const fatal = !NOT_FATAL.has(signal);
      return {
        waitingFor: fatal ? 'the old processes to exit' : `the ${signal} to be recorded`,
        send: async ({ server, before }) => {
          // a watcher's slots without a process (stopped, backing off) have nothing to signal
          const live = target.slot === undefined ? before.filter((p) => p.pid !== null) : before;
          if (live.length === 0) throw new CorralError('not-found', `${targetKey(target)} has no running process to signal`, { target: targetKey(target) });
          let last: number | null = null;
          for (const process of live) last = Math.max(last ?? 0, (await postCommand(server, `${processPath(target, process.slot)}/kill`, { signal })) ?? 0);
          return last;
        },
        // the pid each slot had is gone (exited, or already replaced by the restart policy)
        settled: (snapshot, { before }) => !fatal || snapshot.processes.every((p) => before.every((old) => old.key !== p.key || old.pid === null || p.pid !== old.pid)),
        headline: (_after, { before }) => before.filter((p) => target.slot !== undefined || p.pid !== null).map((p) => `${p.key}: ${signal} sent to ${describeProcess(p)}`).join('\n'),
      };
    },
    { signal: { type: 'string', short: 's' } },
  );
}

