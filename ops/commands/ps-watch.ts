import type { ServerTarget } from './client.js';
import { compareProcesses, type ProcessView } from './processes.js';
import { subscribe } from './subscribe.js';
import type { ProcessTarget } from './targets.js';

/** at most this many redraws a second, however fast the processes change (CPU samples) */
const REDRAW_MS = 200;

/** The subscription that carries the target's process events (keys are `tenant:watcher:slot`). */
function selectOf(target: ProcessTarget | undefined): string {
  if (target?.slot !== undefined) return `processes.*.${target.tenant}:${target.watcher}:${target.slot}`;
  if (target?.watcher !== undefined) return `watcher_processes.*.${target.tenant}:${target.watcher}`;
  return 'processes.*.*';
}

/**
 * `corral ps --watch`: keeps the table of `ps` current from the native websocket, not by
 * polling. The subscription starts at the oldest position the rows were read at; an event
 * at or before the position its tenant was read at is already in the rows, so it is skipped
 * (no duplicate), and every later one replaces its row with the event's view object (none:
 * the slot is gone). On a terminal the screen is redrawn (and every second, for the
 * uptimes); otherwise each new table is printed after the last. Ctrl-C exits 0.
 */
export async function watchProcesses(
  server: ServerTarget,
  target: ProcessTarget | undefined,
  initial: ProcessView[],
  readAt: Map<string, number>,
  render: (processes: ProcessView[]) => string,
  terminal: boolean,
): Promise<number> {
  const rows = new Map(initial.map((p) => [p.key, p]));
  const ordered = (): ProcessView[] => [...rows.values()].sort(compareProcesses);
  const draw = (): void => {
    process.stdout.write(terminal ? `\u001b[H\u001b[2J${render(ordered())}` : `${render(ordered())}\n`);
  };
  let pending: NodeJS.Timeout | null = null;
  const redrawSoon = (): void => {
    pending ??= setTimeout(() => {
      pending = null;
      draw();
    }, REDRAW_MS);
  };
  draw();
  const from = Math.min(...readAt.values(), Number.MAX_SAFE_INTEGER);
  const subscription = subscribe(
    server,
    { select: selectOf(target), from: from === Number.MAX_SAFE_INTEGER ? 'now' : from },
    (event) => {
      const tenant = event.tenant as string | undefined;
      if (tenant === undefined || (target && tenant !== target.tenant)) return;
      if ((event.pos as number) <= (readAt.get(tenant) ?? -1)) return;
      const object = event.object as ProcessView | null | undefined;
      if (object) rows.set(event.key as string, object);
      else rows.delete(event.key as string);
      redrawSoon();
    },
    'corral ps',
  );
  const stop = (): void => subscription.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const clock = terminal ? setInterval(draw, 1000) : null;
  try {
    await subscription.done;
  } finally {
    if (clock) clearInterval(clock);
    if (pending) clearTimeout(pending);
  }
  return 0;
}
