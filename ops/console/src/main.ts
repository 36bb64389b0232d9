import { Api, ApiError, type Info, type Role } from './api.js';
import { makeCan, type AppContext, type Page } from './context.js';
import { h, mount, setText } from './dom.js';
import { forgetToken, storedToken, takeTokenFromUrl } from './session.js';
import { LiveState } from './state.js';
import { LiveSocket } from './ws.js';
import { eventsPage } from './views/events.js';
import { jobsPage } from './views/jobs.js';
import { loginPage } from './views/login.js';
import { minionsPage } from './views/minions.js';
import { processPage } from './views/process.js';
import { timeTravelPage } from './views/time-travel.js';
import { watchersPage } from './views/watchers.js';

const PAGES: { name: string; title: string; open(ctx: AppContext, arg: string): Page }[] = [
  { name: 'watchers', title: 'Watchers', open: (ctx) => watchersPage(ctx) },
  { name: 'minions', title: 'Minions', open: (ctx) => minionsPage(ctx) },
  { name: 'jobs', title: 'Jobs', open: (ctx) => jobsPage(ctx) },
  { name: 'events', title: 'Events', open: (ctx) => eventsPage(ctx) },
  { name: 'history', title: 'Time travel', open: (ctx) => timeTravelPage(ctx) },
  { name: 'process', title: 'Process', open: (ctx, arg) => processPage(ctx, arg) },
];
const RANK: Record<Role, number> = { read: 1, operate: 2, admin: 3 };

const root = document.getElementById('app')!;

/** `#/<tenant>/<page>/<arg>` */
function parseHash(): { tenant: string | null; page: string; arg: string } {
  const [tenant, page, ...rest] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return { tenant: tenant || null, page: page || 'watchers', arg: rest.join('/') };
}

async function boot(): Promise<void> {
  takeTokenFromUrl();
  const token = storedToken();
  const api = new Api(token);
  let info: Info;
  try {
    info = await api.info();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      if (token) forgetToken();
      mount(root, loginPage(token ? `your token was refused: ${error.message}` : null, () => void boot()));
      return;
    }
    mount(root, h('main', { class: 'login' }, h('h1', null, 'Corral'), h('p', { class: 'error', testid: 'boot-error' }, (error as Error).message)));
    return;
  }
  start(api, info, token);
}

function start(api: Api, info: Info, token: string | null): void {
  const grants: Record<string, Role> = info.auth === 'none' ? { '*': 'admin' } : (info.principal?.tenants ?? {});
  const roleFor = (tenant: string): Role | null => {
    const own = grants[tenant] ?? null;
    const all = grants['*'] ?? null;
    if (own === null) return all;
    if (all === null) return own;
    return RANK[own] >= RANK[all] ? own : all;
  };
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  const live = new LiveSocket(wsUrl);
  const state = new LiveState(live);
  live.start();

  const tenantSelect = h('select', { testid: 'tenant-select', 'aria-label': 'tenant' });
  const nav = h('nav', { testid: 'nav' });
  const banner = h('div', { class: 'banner', role: 'status', testid: 'connection-banner', hidden: true });
  const connection = h('span', { class: 'connection', testid: 'connection-status' });
  const whoami = h('span', { class: 'whoami', testid: 'whoami' });
  const signOut = h('button', { class: 'small', testid: 'sign-out', onclick: () => { forgetToken(); live.stop(); void boot(); } }, 'Sign out');
  const content = h('main', { testid: 'content' });
  mount(root,
    h('header', { class: 'top' }, h('h1', null, 'Corral'), tenantSelect, nav, h('span', { class: 'spacer' }), connection, whoami, info.auth === 'none' ? null : signOut),
    banner,
    content,
  );

  live.onStatus((status, detail) => {
    connection.className = `connection ${status}`;
    setText(connection, status === 'open' ? 'live' : status);
    banner.hidden = status === 'open' || status === 'connecting';
    setText(banner, status === 'reconnecting' ? `reconnecting… (${detail})` : `disconnected: ${detail}`);
    banner.dataset.status = status;
  });

  // Tenants the principal sees: the tenants view (scoped by the server), or the grants it holds.
  let tenants: string[] = Object.keys(grants).filter((t) => t !== '*');
  const refreshTenants = (names: string[]): void => {
    const merged = [...new Set([...names, ...tenants])].filter((t) => roleFor(t) !== null).sort();
    tenants = merged;
    const current = tenantSelect.value;
    mount(tenantSelect, merged.map((t) => h('option', { value: t }, t)));
    if (merged.includes(current)) tenantSelect.value = current;
    if (!parseHash().tenant && merged.length > 0) route();
  };
  void api.get<{ items: { name: string; state: string }[] }>('/api/v1/tenants').then(
    (body) => refreshTenants(body.items.filter((t) => t.state !== 'deleted').map((t) => t.name)),
    () => refreshTenants([]),
  );
  state.tenants.onChange(() => refreshTenants([...state.tenants.items.values()].filter((t) => t.state !== 'deleted').map((t) => t.name)));
  tenantSelect.addEventListener('change', () => {
    const { page } = parseHash();
    location.hash = `#/${tenantSelect.value}/${page === 'process' ? 'watchers' : page}`;
  });

  let current: Page | null = null;
  function route(): void {
    const { tenant: fromHash, page, arg } = parseHash();
    const tenant = fromHash ?? tenants[0] ?? null;
    current?.dispose();
    current = null;
    if (tenant === null) {
      mount(content, h('p', { class: 'empty', testid: 'no-tenants' }, 'This principal sees no tenant.'));
      return;
    }
    if (tenantSelect.value !== tenant) {
      if (!Array.from(tenantSelect.options).some((o) => o.value === tenant)) tenantSelect.appendChild(h('option', { value: tenant }, tenant));
      tenantSelect.value = tenant;
    }
    const role = roleFor(tenant);
    setText(whoami, `${info.principal?.subject ?? 'anonymous'} · ${role ?? 'no access'}`);
    whoami.dataset.role = role ?? '';
    mount(nav, PAGES.filter((p) => p.name !== 'process').map((p) =>
      h('a', { href: `#/${tenant}/${p.name}`, class: p.name === page || (page === 'process' && p.name === 'watchers') ? 'current' : '', testid: `nav-${p.name}` }, p.title)));
    const definition = PAGES.find((p) => p.name === page) ?? PAGES[0]!;
    const ctx: AppContext = { api, live, state, tenant, role, can: makeCan(role), navigate: (next) => (location.hash = `#/${tenant}/${next}`) };
    current = definition.open(ctx, arg);
    mount(content, current.element);
  }
  window.onhashchange = route;
  route();
}

void boot();
