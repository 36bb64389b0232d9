import { requestJson, resolveServerTarget, SERVER_FLAGS, type ServerTarget } from './client.js';
import { describeChanges, readProcesses, waitForProcesses, type ProcessSnapshot, type ProcessView } from './processes.js';
import { checkTarget, parseTarget, targetKey, type ProcessTarget, type TargetShape, type WatcherInfo } from './targets.js';
import { integerFlag, parseFlags, UsageError } from './usage.js';

/**
 * The process commands (start, stop, restart, reload, kill, scale) share one shape: read the
 * processes, send the command, then (unless `--no-wait`) poll the processes view until it
 * has folded the command's last position and shows the change, and print what changed per
 * slot (`acme:web:0: pid 123 → pid 456`).
 */
export const CONTROL_FLAGS = { ...SERVER_FLAGS, 'no-wait': { type: 'boolean' }, timeout: { type: 'string' } } as const;
export const CONTROL_USAGE = '[--server URL] [--token T] [--no-wait] [--timeout MS]';

export const DEFAULT_TIMEOUT_MS = 60_000;

export interface ControlRequest {
  server: ServerTarget;
  target: ProcessTarget;
  /** null for a watcher the command creates */
  watcher: WatcherInfo | null;
  /** the processes before the command */
  before: ProcessView[];
}

export interface ControlPlan {
  /** sends the command; resolves with the last position it appended (null: nothing appended) */
  send(request: ControlRequest): Promise<number | null>;
  /** whether the view shows the change */
  settled(snapshot: ProcessSnapshot, request: ControlRequest): boolean;
  /** what is awaited, for the timeout message */
  waitingFor: string;
  /** a line printed before the per-slot changes */
  headline?(after: ProcessSnapshot, request: ControlRequest): string;
  /** the command creates the watcher: only its tenant must exist */
  createsWatcher?: true;
}

/** Parses the common flags and the target, sends the command, waits and prints. */
export async function runControl(
  argv: string[],
  shape: TargetShape,
  plan: (input: { target: ProcessTarget; values: Record<string, unknown>; extra: string[] }) => ControlPlan,
  options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {},
): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...CONTROL_FLAGS, ...options }, true);
  const [text, ...extra] = positionals;
  const target = parseTarget(text, shape);
  const timeoutMs = integerFlag(values.timeout as string | undefined, '--timeout', 1, 86_400_000) ?? DEFAULT_TIMEOUT_MS;
  const steps = plan({ target, values, extra });
  const server = resolveServerTarget(values as { server?: string; token?: string; 'data-dir'?: string });
  const watcher = await checkTarget(server, steps.createsWatcher ? { tenant: target.tenant } : target);
  const request: ControlRequest = { server, target, watcher, before: watcher ? (await readProcesses(server, target)).processes : [] };
  const position = await steps.send(request);
  const key = targetKey(target);
  if (values['no-wait']) {
    process.stdout.write(`${key}: sent${position === null ? '' : ` (position ${position})`}\n`);
    return 0;
  }
  const after = await waitForProcesses(server, target, (snapshot) => steps.settled(snapshot, request), {
    afterPosition: position,
    timeoutMs,
    waitingFor: `${key}: ${steps.waitingFor}`,
  });
  const lines = describeChanges(request.before, after.processes);
  if (steps.headline) lines.unshift(steps.headline(after, request));
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** `POST` a command route; the position of its last appended event (README "HTTP": commands answer with `position`). */
export async function postCommand(server: ServerTarget, path: string, body: unknown = {}, method = 'POST'): Promise<number | null> {
  return ((await requestJson(server, method, path, body)) as { position: number | null }).position;
}

/** Every process runs a new process: a pid it did not have before. */
export function allReplaced(snapshot: ProcessSnapshot, before: ProcessView[]): boolean {
  const old = new Map(before.map((p) => [p.key, p.pid]));
  return snapshot.processes.every((p) => p.state === 'running' && p.pid !== null && p.pid !== old.get(p.key));
}

export const noExtraArguments = (extra: string[]): void => {
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
};

export const watcherPath = (target: ProcessTarget): string => `/api/v1/tenants/${target.tenant}/watchers/${target.watcher}`;
export const processPath = (target: ProcessTarget, slot: number): string => `/api/v1/tenants/${target.tenant}/processes/${target.watcher}:${slot}`;

type WatcherAction = 'start' | 'stop' | 'restart' | 'reload';

const SETTLED: Record<WatcherAction, { waitingFor: string; settled: ControlPlan['settled'] }> = {
  start: { waitingFor: 'every process running', settled: (snapshot) => snapshot.processes.every((p) => p.state === 'running') },
  stop: { waitingFor: 'every process stopped', settled: (snapshot) => snapshot.processes.every((p) => p.state === 'stopped') },
  restart: { waitingFor: 'a new running process in every slot', settled: (snapshot, request) => allReplaced(snapshot, request.before) },
  reload: { waitingFor: 'a new running process in every slot', settled: (snapshot, request) => allReplaced(snapshot, request.before) },
};

/**
 * `corral start|stop|restart|reload TENANT:WATCHER`: the watcher commands
 * (`POST .../watchers/{w}/{action}`). `restart TENANT:WATCHER:SLOT` restarts one slot: there
 * is no per-slot restart route, so it kills the process (SIGTERM) and waits for the new one
 * the watcher starts after `restart.delayMs` (as after any exit, it counts as a restart).
 */
export function watcherActionCommand(action: WatcherAction): { usage: string; run(argv: string[]): Promise<number> } {
  const slotToo = action === 'restart';
  return {
    usage: `corral ${action} ${CONTROL_USAGE} TENANT:WATCHER${slotToo ? '[:SLOT]' : ''}`,
    run: (argv) =>
      runControl(argv, { least: 'watcher', most: slotToo ? 'slot' : 'watcher' }, ({ target, extra }) => {
        noExtraArguments(extra);
        return {
          ...SETTLED[action],
          send: ({ server }) =>
            target.slot === undefined ? postCommand(server, `${watcherPath(target)}/${action}`) : postCommand(server, `${processPath(target, target.slot)}/kill`, { signal: 'SIGTERM' }),
        };
      }),
  };
}
