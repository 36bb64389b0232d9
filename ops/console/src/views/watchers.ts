import { frameScheduler, h, setText, syncList, type Row } from '../dom.js';
import type { AppContext, Page } from '../context.js';
import { createNotice, runAction } from '../components/notice.js';
import type { ProcessObject, WatcherObject } from '../state.js';
import { createAddWatcherForm } from './add-watcher.js';
import { createProcessRow, PROCESS_TABLE_HEADINGS } from './process-row.js';

/**
 * Watchers and their processes (Circus's console): state with an active/inactive toggle,
 * scale, restart, rolling reload, remove, add; each process with its live figures.
 * Actions the principal's role cannot perform are not shown at all.
 */
export function watchersPage(ctx: AppContext): Page {
  const list = h('div', { class: 'watchers', testid: 'watcher-list' });
  const empty = h('p', { class: 'empty', testid: 'watchers-empty' }, 'No watchers in this tenant.');
  const addForm = ctx.can('admin') ? createAddWatcherForm(ctx) : null;
  const element = h('section', { testid: 'page-watchers' },
    h('div', { class: 'page-head' }, h('h2', null, 'Watchers'), addForm ? addForm.toggle : null),
    addForm ? addForm.element : null,
    empty,
    list,
  );

  const render = (): void => {
    const watchers = ctx.state.watchers.ofTenant(ctx.tenant);
    empty.hidden = watchers.length > 0;
    syncList(list, watchers, (w) => w.key, (w) => createWatcherCard(ctx, w));
  };
  const schedule = frameScheduler(render);
  const unsubscribe = [ctx.state.watchers.onChange(schedule), ctx.state.processes.onChange(schedule)];
  // uptimes move on their own
  const ticker = setInterval(schedule, 1000);
  render();
  return {
    element,
    dispose() {
      for (const stop of unsubscribe) stop();
      clearInterval(ticker);
    },
  };
}

function createWatcherCard(ctx: AppContext, watcher: WatcherObject): Row<WatcherObject> {
  const name = watcher.name;
  const notice = createNotice(`watcher-notice-${name}`);
  const act = (label: string, action: () => Promise<unknown>): void => void runAction(notice, action, label);
  let current = watcher;

  // Readers see the state; only operators get a button that flips it.
  const toggle: HTMLElement = ctx.can('operate')
    ? h('button', {
        class: 'toggle',
        testid: `watcher-toggle-${name}`,
        title: 'click to start or stop this watcher',
        onclick: () => act(current.active ? 'stopping' : 'starting', () => ctx.api.watcherCommand(ctx.tenant, name, current.active ? 'stop' : 'start')),
      })
    : h('span', { class: 'toggle', testid: `watcher-state-${name}` });
  const count = h('span', { class: 'count', testid: `watcher-numprocesses-${name}` });
  const scaleDown = h('button', { class: 'small', testid: `watcher-scale-down-${name}`, title: 'one process fewer', onclick: () => act('scaling down', () => ctx.api.scaleWatcher(ctx.tenant, name, Math.max(0, current.numprocesses - 1))) }, '−');
  const scaleUp = h('button', { class: 'small', testid: `watcher-scale-up-${name}`, title: 'one process more', onclick: () => act('scaling up', () => ctx.api.scaleWatcher(ctx.tenant, name, current.numprocesses + 1)) }, '+');
  const command = h('code', { class: 'cmd', testid: `watcher-cmd-${name}` });
  const operate = ctx.can('operate')
    ? [
        h('button', { testid: `watcher-restart-${name}`, onclick: () => act('restarting', () => ctx.api.watcherCommand(ctx.tenant, name, 'restart')) }, 'Restart'),
        h('button', { testid: `watcher-reload-${name}`, title: 'rolling restart: one slot at a time, each new process ready before the old one stops', onclick: () => act('reloading', () => ctx.api.watcherCommand(ctx.tenant, name, 'reload')) }, 'Reload'),
      ]
    : [];
  const admin = ctx.can('admin')
    ? [
        h('button', {
          class: 'danger',
          testid: `watcher-remove-${name}`,
          onclick: () => {
            if (confirm(`Remove watcher ${name} and stop its processes?`)) act('removing', () => ctx.api.removeWatcher(ctx.tenant, name));
          },
        }, 'Remove'),
      ]
    : [];
  const processRows = h('tbody', { testid: `watcher-processes-${name}` });
  const element = h('article', { class: 'card watcher', testid: `watcher-${name}` },
    h('header', null,
      h('h3', null, name),
      toggle,
      h('span', { class: 'scale' }, ctx.can('admin') ? scaleDown : null, count, ctx.can('admin') ? scaleUp : null, ' processes'),
      h('span', { class: 'actions' }, operate, admin),
    ),
    command,
    notice.element,
    h('table', { class: 'processes' }, h('thead', null, h('tr', null, PROCESS_TABLE_HEADINGS.map((heading) => h('th', null, heading)))), processRows),
  );
  return {
    element,
    update(next) {
      current = next;
      setText(toggle, next.active ? 'active' : 'inactive');
      toggle.className = `toggle ${next.active ? 'on' : 'off'}`;
      if (toggle instanceof HTMLButtonElement) toggle.setAttribute('aria-pressed', String(next.active));
      setText(count, String(next.numprocesses));
      setText(command, [next.cmd, ...next.args].join(' '));
      const processes = next.processes
        .map((key) => ctx.state.processes.get(key))
        .filter((process): process is ProcessObject => process !== undefined);
      syncList(processRows, processes, (p) => p.key, (p) => createProcessRow(ctx, p));
    },
  };
}
