import { h } from '../dom.js';
import type { AppContext } from '../context.js';
import { createNotice, runAction } from '../components/notice.js';

/**
 * The "add watcher" form. Validation is the server's: its message names the bad field
 * (`numprocesses: must be an integer >= 0`) and is shown as it is.
 */
export function createAddWatcherForm(ctx: AppContext): { element: HTMLElement; toggle: HTMLElement } {
  const field = (label: string, input: HTMLElement): HTMLElement => h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), input);
  const name = h('input', { type: 'text', testid: 'add-watcher-name', placeholder: 'web', required: true });
  const cmd = h('input', { type: 'text', testid: 'add-watcher-cmd', placeholder: 'node' });
  const args = h('input', { type: 'text', testid: 'add-watcher-args', placeholder: '["server.js"] or server.js --port 3000' });
  const numprocesses = h('input', { type: 'number', testid: 'add-watcher-numprocesses', value: '1', min: '0' });
  const minion = h('input', { type: 'text', testid: 'add-watcher-minion', placeholder: 'local' });
  const notice = createNotice('add-watcher-notice');

  const form = h('form', { class: 'card add-watcher', testid: 'add-watcher-form', hidden: true },
    h('h3', null, 'Add a watcher'),
    h('div', { class: 'fields' }, field('name', name), field('command', cmd), field('arguments', args), field('processes', numprocesses), field('minion', minion)),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary', testid: 'add-watcher-submit' }, 'Add watcher'), notice.element),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const spec: Record<string, unknown> = { name: name.value.trim(), cmd: cmd.value.trim() };
    const argsText = args.value.trim();
    if (argsText !== '') {
      if (argsText.startsWith('[')) {
        try {
          spec.args = JSON.parse(argsText);
        } catch (error) {
          notice.error(`arguments: not a JSON array (${(error as Error).message})`);
          return;
        }
      } else {
        spec.args = argsText.split(/\s+/);
      }
    }
    // Sent as typed: a non-number reaches the server, which says what is wrong with it.
    const count = numprocesses.value.trim();
    if (count !== '') spec.numprocesses = Number.isFinite(Number(count)) ? Number(count) : count;
    if (minion.value.trim() !== '') spec.minion = minion.value.trim();
    void runAction(notice, () => ctx.api.addWatcher(ctx.tenant, spec), `watcher ${spec.name as string} added`).then((ok) => {
      if (ok) form.reset();
    });
  });
  const toggle = h('button', { class: 'primary', testid: 'add-watcher-open', onclick: () => (form.hidden = !form.hidden) }, 'Add watcher');
  return { element: form, toggle };
}
