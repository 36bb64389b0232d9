import { frameScheduler, h, setText, syncList, type Row } from '../dom.js';
import type { AppContext, Page } from '../context.js';
import { formatBytes, formatTime } from '../format.js';
import type { MinionObject } from '../state.js';

/** Minions with their presence and grains. */
export function minionsPage(ctx: AppContext): Page {
  const rows = h('tbody', { testid: 'minion-rows' });
  const empty = h('p', { class: 'empty', testid: 'minions-empty' }, 'No minion has connected to this tenant.');
  const element = h('section', { testid: 'page-minions' },
    h('div', { class: 'page-head' }, h('h2', null, 'Minions')),
    empty,
    h('table', { class: 'minions' },
      h('thead', null, h('tr', null, ['minion', 'presence', 'os / arch', 'cpus', 'memory', 'version', 'last seen', 'grains'].map((heading) => h('th', null, heading)))),
      rows,
    ),
  );
  const render = (): void => {
    const minions = ctx.state.minions.ofTenant(ctx.tenant);
    empty.hidden = minions.length > 0;
    syncList(rows, minions, (m) => m.key, createMinionRow);
  };
  const schedule = frameScheduler(render);
  const stop = ctx.state.minions.onChange(schedule);
  render();
  return { element, dispose: stop };
}

function createMinionRow(minion: MinionObject): Row<MinionObject> {
  const id = minion.id;
  const cells = {
    presence: h('span', { class: 'badge', testid: `minion-state-${id}` }),
    platform: h('td'),
    cpus: h('td'),
    memory: h('td'),
    version: h('td'),
    lastSeen: h('td'),
    grains: h('pre', { class: 'grains', testid: `minion-grains-${id}` }),
  };
  const element = h('tr', { testid: `minion-${id}` },
    h('td', null, id),
    h('td', null, cells.presence),
    cells.platform,
    cells.cpus,
    cells.memory,
    cells.version,
    cells.lastSeen,
    h('td', null, h('details', null, h('summary', null, 'all grains'), cells.grains)),
  );
  return {
    element,
    update(current) {
      const grains = current.grains ?? {};
      setText(cells.presence, current.state);
      cells.presence.className = `badge presence-${current.state}`;
      setText(cells.platform, `${String(grains.os ?? '–')} / ${String(grains.arch ?? '–')}`);
      setText(cells.cpus, String(grains.cpus ?? '–'));
      setText(cells.memory, typeof grains.memory === 'number' ? formatBytes(grains.memory) : '–');
      setText(cells.version, current.version ?? '–');
      setText(cells.lastSeen, formatTime(current.lastSeen));
      setText(cells.grains, JSON.stringify(grains, null, 2));
    },
  };
}
