import { requestJson, resolveServerTarget, SERVER_FLAGS, type ServerTarget } from './client.js';
import { formatBytes, formatUptime, readProcesses, type ProcessView } from './processes.js';
import { alignColumns } from './table.js';
import { checkTarget, parseTarget, type ProcessTarget } from './targets.js';
import { parseFlags, UsageError } from './usage.js';

export const usage = 'corral ps [--server URL] [--token T] [--json] [--watch] [TENANT[:WATCHER[:SLOT]]]   (alias: corral status)';

const HEADER = ['NAME', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'CPU', 'MEM'];

/** SGR colour per state: green while it runs, yellow on the way, red when it gave up or died. */
const STATE_COLOUR: Record<string, string> = { running: '32', starting: '33', stopping: '33', backoff: '33', exited: '31', fatal: '31', stopped: '2' };

/**
 * `corral ps`: one row per process of the target (every tenant the token sees without one),
 * from `GET .../processes`; `--json` prints the process view objects as one JSON array.
 * Colours only on a terminal, and never with NO_COLOR set (https://no-color.org).
 */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...SERVER_FLAGS, json: { type: 'boolean' }, watch: { type: 'boolean' } }, true);
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  const given = positionals[0] === undefined ? undefined : parseTarget(positionals[0], { least: 'tenant', most: 'slot' });
  const server = resolveServerTarget(values);
  const processes: ProcessView[] = [];
  /** the view position each tenant's rows were read at */
  const readAt = new Map<string, number>();
  for (const target of given ? [given] : await visibleTenants(server)) {
    if (given) await checkTarget(server, target);
    const snapshot = await readProcesses(server, target);
    processes.push(...snapshot.processes);
    readAt.set(target.tenant, snapshot.position);
  }
  const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const render = (list: ProcessView[]): string => (values.json ? `${JSON.stringify(list)}\n` : renderTable(list, colour));
  if (!values.watch) {
    process.stdout.write(render(processes));
    return 0;
  }
  const { watchProcesses } = await import('./ps-watch.js');
  return watchProcesses(server, given, processes, readAt, render, process.stdout.isTTY === true);
}

async function visibleTenants(server: ServerTarget): Promise<ProcessTarget[]> {
  const list = (await requestJson(server, 'GET', '/api/v1/tenants')) as { items: { name: string; state: string }[] };
  return list.items.filter((item) => item.state === 'active').map((item) => ({ tenant: item.name }));
}

function row(p: ProcessView, now: number): string[] {
  const live = p.pid !== null;
  return [
    p.key,
    p.state === 'running' && !p.ready ? 'running (not ready)' : p.state,
    live ? String(p.pid) : '-',
    live && p.startedAt !== null ? formatUptime(p.startedAt, now) : '-',
    String(p.restarts),
    live ? `${p.cpu.toFixed(1)}%` : '-',
    live ? formatBytes(p.rss) : '-',
  ];
}

/** The table; on a terminal the header bold and the state coloured. */
export function renderTable(processes: ProcessView[], colour: boolean, now = Date.now()): string {
  const rows = [HEADER, ...processes.map((p) => row(p, now))];
  if (!colour) return alignColumns(rows);
  return alignColumns(rows, (padded, index, column) => {
    if (index === 0) return `\u001b[1m${padded}\u001b[0m`;
    const code = column === 1 ? STATE_COLOUR[processes[index - 1]!.state] : undefined;
    return code ? `\u001b[${code}m${padded}\u001b[0m` : padded;
  });
}
