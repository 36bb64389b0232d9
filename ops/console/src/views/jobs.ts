import { frameScheduler, h, mount, setText, syncList, type Row } from '../dom.js';
import type { AppContext, Page } from '../context.js';
import { ApiError } from '../api.js';
import { createExpressionInput } from '../components/filter-input.js';
import { createNotice, runAction } from '../components/notice.js';
import { formatJson, formatTime } from '../format.js';
import type { JobObject } from '../state.js';

const FUNCTIONS = ['test.ping', 'test.echo', 'test.sleep', 'cmd.run', 'grains.items', 'proc.list'];

/**
 * Jobs: run one (target, target type, function, arguments) and watch each minion's return
 * arrive; the history, narrowed by a filter in the API's language.
 */
export function jobsPage(ctx: AppContext): Page {
  const detail = h('div', { class: 'card job-detail', testid: 'job-detail', hidden: true });
  let selectedJid: string | null = null;
  const select = (jid: string): void => {
    selectedJid = jid;
    renderDetail();
  };

  const runForm = ctx.can('operate') ? createRunForm(ctx, select) : null;
  const filter = createExpressionInput({ testid: 'job-filter', placeholder: 'fun=Eq("cmd.run")   state=In("failed","timeout")', label: 'filter' });
  const rows = h('tbody', { testid: 'job-rows' });
  const element = h('section', { testid: 'page-jobs' },
    h('div', { class: 'page-head' }, h('h2', null, 'Jobs')),
    runForm,
    detail,
    h('h3', null, 'History'),
    filter.element,
    h('table', { class: 'jobs' }, h('thead', null, h('tr', null, ['jid', 'function', 'arguments', 'target', 'state', 'returns', 'user', 'started'].map((x) => h('th', null, x)))), rows),
  );

  // With a filter the server evaluates it (same language as everywhere); without one the live view is shown.
  let filtered: JobObject[] | null = null;
  let filterText = '';
  let fetching = false;
  const refetch = async (): Promise<void> => {
    if (filterText === '' || fetching) return;
    fetching = true;
    try {
      const text = filterText;
      const body = await ctx.api.list<JobObject>(ctx.tenant, 'jobs', { filter: text });
      if (text !== filterText) return;
      filter.clearError();
      filtered = body.items;
    } catch (error) {
      filtered = [];
      filter.showError(error instanceof ApiError ? error.message : String(error), error instanceof ApiError ? error.position : null);
    } finally {
      fetching = false;
      schedule();
    }
  };
  let debounce: ReturnType<typeof setTimeout> | undefined;
  filter.input.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      filterText = filter.input.value.trim();
      if (filterText === '') {
        filtered = null;
        filter.clearError();
        schedule();
      } else void refetch();
    }, 250);
  });

  function renderDetail(): void {
    const job = selectedJid ? ctx.state.jobs.get(`${ctx.tenant}:${selectedJid}`) : undefined;
    detail.hidden = selectedJid === null;
    if (!selectedJid) return;
    if (!job) {
      mount(detail, h('p', null, `job ${selectedJid}: waiting for it to appear…`));
      return;
    }
    const results = h('tbody', { testid: 'job-returns' });
    mount(detail,
      h('h3', null, `Job `, h('span', { testid: 'job-detail-jid' }, job.jid), ' ', h('span', { class: `badge job-${job.state}`, testid: 'job-detail-state' }, job.state)),
      h('p', null, h('code', null, `${job.fun} ${job.args.map(formatJson).join(' ')}`), ` on ${job.tgtType} ${job.tgt}`),
      h('table', null, h('thead', null, h('tr', null, ['minion', 'state', 'retcode', 'success', 'duration', 'return'].map((x) => h('th', null, x)))), results),
    );
    const minions = Object.entries(job.minions).sort(([a], [b]) => (a < b ? -1 : 1));
    syncList(results, minions, ([id]) => id, ([id]) => {
      const cells = [h('td'), h('td'), h('td'), h('td'), h('pre', { class: 'return', testid: `job-return-value-${id}` })];
      const element = h('tr', { testid: `job-return-${id}` }, h('td', null, id), cells[0], cells[1], cells[2], cells[3], h('td', null, cells[4]));
      return {
        element,
        update([, result]) {
          setText(cells[0]!, result.state);
          element.dataset.state = result.state;
          setText(cells[1]!, result.retcode === null ? '–' : String(result.retcode));
          setText(cells[2]!, result.success === null ? '–' : String(result.success));
          setText(cells[3]!, result.durationMs === null ? '–' : `${result.durationMs} ms`);
          setText(cells[4]!, result.state === 'returned' ? JSON.stringify(result.return, null, 2) : '');
        },
      };
    });
  }

  const render = (): void => {
    const jobs = (filtered ?? ctx.state.jobs.ofTenant(ctx.tenant)).slice().sort((a, b) => b.startTime - a.startTime || (a.jid < b.jid ? 1 : -1));
    syncList(rows, jobs.slice(0, 500), (j) => j.key, (j) => createJobRow(j, select));
    renderDetail();
  };
  const schedule = frameScheduler(render);
  const stop = ctx.state.jobs.onChange(() => {
    schedule();
    if (filterText !== '') void refetch();
  });
  render();
  return {
    element,
    dispose() {
      stop();
      clearTimeout(debounce);
    },
  };
}

function createRunForm(ctx: AppContext, onStarted: (jid: string) => void): HTMLElement {
  const tgt = h('input', { type: 'text', value: '*', testid: 'job-tgt', 'aria-label': 'target' });
  const tgtType = h('select', { testid: 'job-tgt-type', 'aria-label': 'target type' }, ['glob', 'list', 'grain'].map((t) => h('option', { value: t }, t)));
  const fun = h('input', { type: 'text', value: 'test.ping', list: 'job-functions', testid: 'job-fun', 'aria-label': 'function' });
  const args = h('input', { type: 'text', testid: 'job-args', placeholder: 'one argument, or a JSON array', 'aria-label': 'arguments' });
  const notice = createNotice('job-notice');
  const form = h('form', { class: 'card run-job', testid: 'job-form' },
    h('h3', null, 'Run a job'),
    h('datalist', { id: 'job-functions' }, FUNCTIONS.map((f) => h('option', { value: f }))),
    h('div', { class: 'fields' },
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'target'), tgt),
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'type'), tgtType),
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'function'), fun),
      h('label', { class: 'field wide' }, h('span', { class: 'field-label' }, 'arguments'), args),
    ),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary', testid: 'job-run' }, 'Run'), notice.element),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    let parsedArgs: unknown[];
    const text = args.value.trim();
    if (text === '') parsedArgs = [];
    else if (text.startsWith('[')) {
      try {
        const value: unknown = JSON.parse(text);
        if (!Array.isArray(value)) throw new Error('expected an array');
        parsedArgs = value;
      } catch (error) {
        notice.error(`arguments: not a JSON array (${(error as Error).message})`);
        return;
      }
    } else parsedArgs = [text];
    let jid = '';
    void runAction(notice, async () => {
      ({ jid } = await ctx.api.runJob(ctx.tenant, { fun: fun.value.trim(), args: parsedArgs, tgt: tgt.value.trim(), tgtType: tgtType.value }));
    }).then((ok) => {
      if (!ok) return;
      notice.ok(`job ${jid} started`);
      onStarted(jid);
    });
  });
  return form;
}

function createJobRow(job: JobObject, select: (jid: string) => void): Row<JobObject> {
  const cells = Array.from({ length: 8 }, () => h('td'));
  const element = h('tr', { testid: `job-${job.jid}`, class: 'clickable', onclick: () => select(job.jid) }, cells);
  return {
    element,
    update(current) {
      const results = Object.values(current.minions);
      const returned = results.filter((r) => r.state === 'returned').length;
      const texts = [current.jid, current.fun, current.args.map(formatJson).join(' '), `${current.tgtType} ${current.tgt}`, current.state, `${returned}/${results.length}`, current.user, formatTime(current.startTime)];
      texts.forEach((text, index) => setText(cells[index]!, text));
    },
  };
}
