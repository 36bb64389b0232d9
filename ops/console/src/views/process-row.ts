import { h, setText, type Row } from '../dom.js';
import type { AppContext } from '../context.js';
import { createSparkline } from '../components/sparkline.js';
import { formatBytes, formatDuration, idOf } from '../format.js';
import type { ProcessObject } from '../state.js';
import { createNotice, runAction } from '../components/notice.js';

export const KILL_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGKILL'];

/** Seconds a process has been up, or its state when it is not running. */
export function uptimeOf(process: ProcessObject, now = Date.now()): string {
  return process.state === 'running' && process.startedAt ? formatDuration(now - process.startedAt) : '–';
}

/** One process slot: state, pid, uptime, restarts, live CPU and memory, kill with a chosen signal. */
export function createProcessRow(ctx: AppContext, process: ProcessObject): Row<ProcessObject> {
  const id = idOf(process.key);
  const state = h('span', { class: 'badge', testid: `process-state-${id}` });
  const pid = h('td', { testid: `process-pid-${id}` });
  const uptime = h('td', { testid: `process-uptime-${id}` });
  const restarts = h('td', { testid: `process-restarts-${id}` });
  const cpuText = h('span', { class: 'metric' });
  const rssText = h('span', { class: 'metric' });
  const cpu = createSparkline(`CPU of ${id}`, `process-cpu-${id}`);
  const rss = createSparkline(`memory of ${id}`, `process-rss-${id}`);
  const notice = createNotice(`process-notice-${id}`);
  const signal = h('select', { testid: `process-signal-${id}`, 'aria-label': `signal for ${id}` }, KILL_SIGNALS.map((name) => h('option', { value: name }, name)));
  const kill = h('button', {
    class: 'danger small',
    testid: `process-kill-${id}`,
    onclick: () => void runAction(notice, () => ctx.api.killProcess(ctx.tenant, id, signal.value), `${signal.value} sent`),
  }, 'Kill');
  const element = h('tr', { testid: `process-${id}` },
    h('td', null, h('a', { href: `#/${ctx.tenant}/process/${id}`, testid: `process-link-${id}` }, id)),
    h('td', null, state),
    pid,
    uptime,
    restarts,
    h('td', { class: 'spark' }, cpu.element, cpuText),
    h('td', { class: 'spark' }, rss.element, rssText),
    h('td', null, ctx.can('operate') ? [signal, kill] : null, notice.element),
  );
  return {
    element,
    update(current) {
      setText(state, current.state);
      state.className = `badge state-${current.state}`;
      setText(pid, current.pid === null ? '–' : String(current.pid));
      setText(uptime, uptimeOf(current));
      setText(restarts, String(current.restarts));
      const samples = ctx.state.stats.of(current.key);
      cpu.update(samples.cpu, 100);
      rss.update(samples.rss);
      setText(cpuText, current.state === 'running' ? `${current.cpu.toFixed(1)}%` : '');
      setText(rssText, current.state === 'running' ? formatBytes(current.rss) : '');
    },
  };
}

export const PROCESS_TABLE_HEADINGS = ['process', 'state', 'pid', 'uptime', 'restarts', 'CPU', 'memory', ''];
