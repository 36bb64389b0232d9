import { h, mount, setText } from '../dom.js';
import type { AppContext, Page } from '../context.js';
import type { HistoryEvent } from '../api.js';
import { formatJson, formatTime, idOf } from '../format.js';

/** The columns worth seeing per view (the full object is one click away). */
const COLUMNS: Record<string, string[]> = {
  watchers: ['name', 'active', 'numprocesses', 'cmd'],
  processes: ['state', 'pid', 'restarts', 'startedAt'],
  minions: ['id', 'state', 'version', 'lastSeen'],
  jobs: ['jid', 'fun', 'state', 'tgt'],
  tenants: ['name', 'state', 'watchers'],
};
/** events shown on each side of the chosen position */
const EVENTS_AROUND = 10;

/**
 * Time travel for audits: pick a position (slider or number) or a time, and see a view as
 * it was then (`views/{view}?at=`) with the events around that moment (`events?from=`).
 */
export function timeTravelPage(ctx: AppContext): Page {
  const view = h('select', { testid: 'tt-view', 'aria-label': 'view' }, Object.keys(COLUMNS).map((name) => h('option', { value: name }, name)));
  const slider = h('input', { type: 'range', min: '0', max: '0', step: '1', value: '0', testid: 'tt-slider', 'aria-label': 'log position' });
  const position = h('input', { type: 'number', min: '0', testid: 'tt-position', 'aria-label': 'position' });
  const time = h('input', { type: 'datetime-local', step: '1', testid: 'tt-time', 'aria-label': 'time' });
  const now = h('button', { type: 'button', testid: 'tt-now' }, 'Now');
  const asOf = h('p', { class: 'as-of', testid: 'tt-as-of' });
  const error = h('div', { class: 'error', role: 'alert', testid: 'tt-error', hidden: true });
  const objects = h('div', { testid: 'tt-objects' });
  const events = h('tbody', { testid: 'tt-events' });
  const element = h('section', { testid: 'page-history' },
    h('div', { class: 'page-head' }, h('h2', null, 'Time travel')),
    h('div', { class: 'card tt-controls' },
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'view'), view),
      h('label', { class: 'field wide' }, h('span', { class: 'field-label' }, 'position'), slider),
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'at position'), position),
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'or at time (UTC)'), time),
      now,
    ),
    asOf,
    error,
    objects,
    h('h3', null, 'Events around this moment'),
    h('table', { class: 'events' }, h('thead', null, h('tr', null, ['pos', 'time', 'event', 'key', 'by', 'data'].map((x) => h('th', null, x)))), events),
  );

  let head = 0;
  let request = 0;
  let debounce: ReturnType<typeof setTimeout> | undefined;

  const setHead = (value: number): void => {
    if (value <= head) return;
    const following = Number(slider.value) === head;
    head = value;
    slider.max = String(head);
    position.max = String(head);
    if (following) slider.value = String(head);
  };

  async function show(at: number | string): Promise<void> {
    const mine = ++request;
    error.hidden = true;
    try {
      const list = await ctx.api.viewAt<Record<string, unknown>>(ctx.tenant, view.value, at);
      if (mine !== request) return;
      setHead(list.position);
      slider.value = String(list.position);
      position.value = String(list.position);
      setText(asOf, `${view.value} as of position ${list.position}${typeof at === 'string' ? ` (time ${at})` : ''}`);
      asOf.dataset.position = String(list.position);
      renderObjects(list.items);
      const page = await ctx.api.events(ctx.tenant, { from: Math.max(0, list.position - EVENTS_AROUND), limit: EVENTS_AROUND * 2 + 1 });
      if (mine !== request) return;
      renderEvents(page.events, list.position);
    } catch (failure) {
      if (mine !== request) return;
      setText(error, (failure as Error).message);
      error.hidden = false;
    }
  }

  function renderObjects(items: Record<string, unknown>[]): void {
    const columns = COLUMNS[view.value] ?? [];
    mount(objects, items.length === 0
      ? h('p', { class: 'empty', testid: 'tt-empty' }, `no ${view.value} at this position`)
      : h('table', { class: 'tt-table' },
          h('thead', null, h('tr', null, h('th', null, 'key'), columns.map((c) => h('th', null, c)))),
          h('tbody', null, items.map((item) => h('tr', { testid: `tt-row-${idOf(String(item.key))}` },
            h('td', null, String(item.key)),
            columns.map((c) => h('td', { 'data-field': c }, cell(item[c], c))),
          ))),
        ));
  }

  function renderEvents(list: HistoryEvent[], at: number): void {
    mount(events, list.map((event) => h('tr', { class: event.position === at ? 'current' : event.position > at ? 'after' : '', testid: 'tt-event', 'data-pos': String(event.position) },
      h('td', null, String(event.position)),
      h('td', null, formatTime(event.time)),
      h('td', null, `${event.type}.${event.action}`),
      h('td', null, event.key),
      h('td', null, String(event.meta?.principal ?? '')),
      h('td', { class: 'data' }, formatJson(event.data).slice(0, 200)),
    )));
  }

  const later = (at: number | string): void => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void show(at), 120);
  };
  slider.addEventListener('input', () => {
    position.value = slider.value;
    later(Number(slider.value));
  });
  position.addEventListener('change', () => later(Number(position.value)));
  view.addEventListener('change', () => later(Number(slider.value)));
  time.addEventListener('change', () => {
    if (time.value) later(new Date(`${time.value}Z`).toISOString());
  });
  now.addEventListener('click', () => {
    slider.value = String(head);
    later(head);
  });
  // The log grows while the page is open: the slider's end follows it.
  const stops = [ctx.state.watchers, ctx.state.processes, ctx.state.jobs, ctx.state.minions].map((collection) =>
    collection.onChange(() => {
      if (collection.position !== null) setHead(collection.position);
    }),
  );
  void ctx.api.list<Record<string, unknown>>(ctx.tenant, `views/${view.value}`).then(
    (list) => {
      setHead(list.position);
      slider.value = String(list.position);
      void show(list.position);
    },
    (failure: Error) => {
      setText(error, failure.message);
      error.hidden = false;
    },
  );
  return {
    element,
    dispose() {
      clearTimeout(debounce);
      for (const stop of stops) stop();
    },
  };
}

function cell(value: unknown, column: string): string {
  if (value === null || value === undefined) return '–';
  if (column.endsWith('At') || column === 'lastSeen') return formatTime(value as number);
  return typeof value === 'object' ? formatJson(value) : String(value);
}
