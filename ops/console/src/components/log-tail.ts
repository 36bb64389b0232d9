import { h, setText } from '../dom.js';
import type { Api } from '../api.js';
import type { LiveSocket } from '../ws.js';

/** Lines kept on screen: the default per-process retention of the server. */
const MAX_LINES = 10_000;

interface LogLine {
  pos: number;
  fd: string;
  line: string;
}

/**
 * The log tail of one process: the retained lines first (event history, `logs.line.<key>`),
 * then live lines over the websocket from exactly where the history ended (no gap, no
 * duplicate). Follow keeps the newest line in view; scrolling up stops following so the
 * operator can read back; pause holds new lines aside and shows how many wait.
 */
export function createLogTail(options: { api: Api; live: LiveSocket; tenant: string; processKey: string }): { element: HTMLElement; dispose(): void } {
  const { api, live, tenant, processKey } = options;
  const output = h('div', { class: 'log-lines', testid: 'log-lines', tabindex: '0' });
  const follow = h('input', { type: 'checkbox', checked: true, testid: 'log-follow' });
  const pause = h('button', { testid: 'log-pause' }, 'Pause');
  const status = h('span', { class: 'log-status', testid: 'log-status' }, 'loading retained lines…');
  const element = h('div', { class: 'log-tail', testid: 'log-tail' },
    h('div', { class: 'toolbar' }, h('label', null, follow, ' follow'), pause, status),
    output,
  );

  let paused = false;
  let held: LogLine[] = [];
  let shown = 0;
  let disposed = false;
  const subscriptionId = `console.logs.${processKey}`;

  const append = (lines: LogLine[]): void => {
    if (lines.length === 0) return;
    const fragment = document.createDocumentFragment();
    for (const line of lines) {
      fragment.appendChild(h('div', { class: `log-line ${line.fd}`, 'data-pos': String(line.pos) }, line.line));
    }
    output.appendChild(fragment);
    shown += lines.length;
    while (shown > MAX_LINES && output.firstChild) {
      output.firstChild.remove();
      shown--;
    }
    if (follow.checked) output.scrollTop = output.scrollHeight;
  };
  const describe = (): void => setText(status, paused ? `paused: ${held.length} new line${held.length === 1 ? '' : 's'} waiting` : `${shown} lines`);

  pause.addEventListener('click', () => {
    paused = !paused;
    setText(pause, paused ? 'Resume' : 'Pause');
    if (!paused) {
      append(held);
      held = [];
    }
    describe();
  });
  // Reading back: scrolling away from the bottom stops following; back at the bottom resumes it.
  output.addEventListener('scroll', () => {
    const atBottom = output.scrollHeight - output.scrollTop - output.clientHeight < 4;
    if (follow.checked !== atBottom) follow.checked = atBottom;
  });
  follow.addEventListener('change', () => {
    if (follow.checked) output.scrollTop = output.scrollHeight;
  });

  const toLine = (pos: number, data: unknown): LogLine => {
    const record = (data ?? {}) as { fd?: string; line?: string };
    return { pos, fd: record.fd ?? 'stdout', line: record.line ?? '' };
  };

  void (async () => {
    let from = 0;
    const retained: LogLine[] = [];
    try {
      for (;;) {
        const page = await api.events(tenant, { select: `logs.line.${processKey}`, from, limit: MAX_LINES });
        for (const event of page.events) retained.push(toLine(event.position, event.data));
        if (retained.length > MAX_LINES) retained.splice(0, retained.length - MAX_LINES);
        if (page.next === null) {
          from = page.head;
          break;
        }
        from = page.next;
      }
    } catch (error) {
      setText(status, `cannot read retained lines: ${(error as Error).message}`);
    }
    if (disposed) return;
    append(retained);
    describe();
    live.subscribe(
      { id: subscriptionId, select: `logs.line.${processKey}`, from },
      {
        event: (event) => {
          const line = toLine(event.pos, event.data);
          if (paused) held.push(line);
          else append([line]);
          describe();
        },
        error: (error) => setText(status, `live tail refused: ${error.message}`),
      },
    );
  })();

  return {
    element,
    dispose() {
      disposed = true;
      live.unsubscribe(subscriptionId);
    },
  };
}
