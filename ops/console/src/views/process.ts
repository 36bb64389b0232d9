import { frameScheduler, h, setText } from '../dom.js';
import type { AppContext, Page } from '../context.js';
import { createLogTail } from '../components/log-tail.js';
import { createSparkline } from '../components/sparkline.js';
import { createNotice, runAction } from '../components/notice.js';
import { formatBytes, formatTime } from '../format.js';
import { KILL_SIGNALS, uptimeOf } from './process-row.js';

/** One process: its figures, larger sparklines, kill, and the live log tail. */
export function processPage(ctx: AppContext, processId: string): Page {
  const key = `${ctx.tenant}:${processId}`;
  const fields = new Map<string, HTMLElement>();
  const names = ['state', 'pid', 'uptime', 'restarts', 'minion', 'started', 'exit', 'cpu', 'memory'];
  const table = h('dl', { class: 'facts' }, names.flatMap((name) => {
    const value = h('dd', { testid: `process-detail-${name}` });
    fields.set(name, value);
    return [h('dt', null, name), value];
  }));
  const cpu = createSparkline(`CPU of ${processId}`, 'process-detail-cpu-chart');
  const rss = createSparkline(`memory of ${processId}`, 'process-detail-rss-chart');
  const notice = createNotice('process-detail-notice');
  const signal = h('select', { testid: 'process-detail-signal' }, KILL_SIGNALS.map((name) => h('option', { value: name }, name)));
  const kill = h('button', { class: 'danger', testid: 'process-detail-kill', onclick: () => void runAction(notice, () => ctx.api.killProcess(ctx.tenant, processId, signal.value), `${signal.value} sent`) }, 'Kill');
  const logs = createLogTail({ api: ctx.api, live: ctx.live, tenant: ctx.tenant, processKey: key });
  const element = h('section', { testid: 'page-process' },
    h('div', { class: 'page-head' }, h('h2', null, h('a', { href: `#/${ctx.tenant}/watchers` }, 'Watchers'), ' / ', processId)),
    h('div', { class: 'card' },
      table,
      h('div', { class: 'charts' }, h('figure', null, cpu.element, h('figcaption', null, 'CPU %')), h('figure', null, rss.element, h('figcaption', null, 'memory'))),
      ctx.can('operate') ? h('div', { class: 'form-actions' }, signal, kill, notice.element) : null,
    ),
    h('h3', null, 'Log'),
    logs.element,
  );

  const render = (): void => {
    const process = ctx.state.processes.get(key);
    const set = (name: string, text: string): void => setText(fields.get(name)!, text);
    if (!process) {
      set('state', 'unknown process');
      return;
    }
    set('state', process.state);
    set('pid', process.pid === null ? '–' : String(process.pid));
    set('uptime', uptimeOf(process));
    set('restarts', String(process.restarts));
    set('minion', process.minion ?? '–');
    set('started', formatTime(process.startedAt));
    set('exit', process.exitedAt ? `${process.exitCode ?? ''}${process.signal ? ` ${process.signal}` : ''} at ${formatTime(process.exitedAt)}` : '–');
    set('cpu', `${process.cpu.toFixed(1)}%`);
    set('memory', formatBytes(process.rss));
    const samples = ctx.state.stats.of(key);
    cpu.update(samples.cpu, 100);
    rss.update(samples.rss);
  };
  const schedule = frameScheduler(render);
  const stop = ctx.state.processes.onChange(schedule);
  const ticker = setInterval(schedule, 1000);
  render();
  return {
    element,
    dispose() {
      stop();
      clearInterval(ticker);
      logs.dispose();
    },
  };
}
