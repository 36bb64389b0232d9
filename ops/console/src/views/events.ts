import { h, setText } from '../dom.js';
import type { AppContext, Page } from '../context.js';
import { createExpressionInput } from '../components/filter-input.js';
import { formatJson } from '../format.js';
import type { LiveEvent } from '../ws.js';

/** Rows kept on screen. */
const MAX_ROWS = 1000;
/** Events held while paused before the subscription is dropped and later resumed from its position instead. */
const MAX_HELD = 20_000;
/** On opening, the tail starts this many positions back, so there is context. */
const CONTEXT_POSITIONS = 100;

/**
 * The live event tail: a specifier and a filter (the API's language; the server's parse
 * error is shown where it occurred), pause and resume without losing an event. While
 * paused, events are held; if too many arrive, the subscription is dropped and resumed
 * later from the last held position, so the store is the buffer and memory stays bounded.
 */
export function eventsPage(ctx: AppContext): Page {
  const select = createExpressionInput({ testid: 'events-select', placeholder: 'type.action.key   e.g. processes.*.*', value: '*.*.*', label: 'select' });
  const filter = createExpressionInput({ testid: 'events-filter', placeholder: 'state=Eq("running")', label: 'filter' });
  const apply = h('button', { type: 'submit', class: 'primary', testid: 'events-apply' }, 'Apply');
  const pause = h('button', { type: 'button', testid: 'events-pause' }, 'Pause');
  const clear = h('button', { type: 'button', testid: 'events-clear' }, 'Clear');
  const status = h('span', { class: 'status', testid: 'events-status' });
  const rows = h('tbody', { testid: 'event-rows' });
  const form = h('form', { class: 'card events-form', testid: 'events-form' }, h('div', { class: 'fields' }, select.element, filter.element), h('div', { class: 'form-actions' }, apply, pause, clear, status));
  const element = h('section', { testid: 'page-events' },
    h('div', { class: 'page-head' }, h('h2', null, 'Event stream')),
    form,
    h('table', { class: 'events' }, h('thead', null, h('tr', null, ['pos', 'time', 'event', 'key', 'data'].map((x) => h('th', null, x)))), rows),
  );

  let subscriptionId: string | null = null;
  let paused = false;
  let held: LiveEvent[] = [];
  /** set when the subscription was dropped during a long pause: resume from here */
  let resumeFrom: number | null = null;
  let lastPosition: number | null = null;
  let spec = { select: '*.*.*', filter: '' };

  const describe = (): void => {
    if (paused) setText(status, resumeFrom !== null ? `paused: will resume from position ${resumeFrom}` : `paused: ${held.length} event${held.length === 1 ? '' : 's'} held`);
    else setText(status, lastPosition === null ? 'live' : `live at position ${lastPosition}`);
  };

  const show = (events: LiveEvent[]): void => {
    if (events.length === 0) return;
    const fragment = document.createDocumentFragment();
    for (let i = events.length - 1; i >= 0; i--) fragment.appendChild(eventRow(events[i]!));
    rows.insertBefore(fragment, rows.firstChild);
    while (rows.childElementCount > MAX_ROWS) rows.lastElementChild!.remove();
    lastPosition = events[events.length - 1]!.pos;
  };

  const subscribe = (from: number | 'now'): void => {
    if (subscriptionId) ctx.live.unsubscribe(subscriptionId);
    // A stable id per query: consoles tailing the same thing share the server's fan-out group.
    subscriptionId = `console.events.${hash(`${spec.select}|${spec.filter}`)}`;
    ctx.live.subscribe(
      { id: subscriptionId, select: spec.select, ...(spec.filter ? { filter: spec.filter } : {}), from },
      {
        event: (event) => {
          if (!paused) {
            show([event]);
            describe();
            return;
          }
          held.push(event);
          if (held.length >= MAX_HELD) {
            resumeFrom = event.pos;
            ctx.live.unsubscribe(subscriptionId!);
          }
          describe();
        },
        error: (error) => {
          const text = error.message;
          const target = /^(invalid )?(select|specifier)/.test(text) ? select : filter;
          target.showError(text, error.position);
          setText(status, 'not subscribed');
        },
      },
    );
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    select.clearError();
    filter.clearError();
    spec = { select: select.input.value.trim() || '*.*.*', filter: filter.input.value.trim() };
    rows.replaceChildren();
    held = [];
    resumeFrom = null;
    lastPosition = null;
    subscribe(startPosition());
    describe();
  });
  pause.addEventListener('click', () => {
    paused = !paused;
    setText(pause, paused ? 'Resume' : 'Pause');
    pause.classList.toggle('active', paused);
    if (!paused) {
      show(held);
      held = [];
      if (resumeFrom !== null) {
        subscribe(resumeFrom);
        resumeFrom = null;
      }
    }
    describe();
  });
  clear.addEventListener('click', () => rows.replaceChildren());

  /** A little history before now, from the position the live views have reached. */
  function startPosition(): number | 'now' {
    const positions = [ctx.state.watchers.position, ctx.state.processes.position, ctx.state.jobs.position, ctx.state.minions.position].filter((p): p is number => p !== null);
    return positions.length === 0 ? 'now' : Math.max(0, Math.max(...positions) - CONTEXT_POSITIONS);
  }

  subscribe(startPosition());
  describe();
  return {
    element,
    dispose() {
      if (subscriptionId) ctx.live.unsubscribe(subscriptionId);
    },
  };
}

function eventRow(event: LiveEvent): HTMLElement {
  return h('tr', { testid: 'event-row', 'data-pos': String(event.pos), 'data-type': event.type, 'data-action': event.action },
    h('td', null, String(event.pos)),
    h('td', null, event.time.slice(11, 23)),
    h('td', null, `${event.type}.${event.action}`),
    h('td', null, event.key),
    h('td', { class: 'data' }, formatJson(event.data).slice(0, 300)),
  );
}

/** FNV-1a: a short, stable name for a query. */
function hash(text: string): string {
  let value = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    value ^= text.charCodeAt(i);
    value = Math.imul(value, 0x01000193);
  }
  return (value >>> 0).toString(36);
}
