import type { Api, Role } from './api.js';
import { roleIncludes } from './api.js';
import type { LiveState } from './state.js';
import type { LiveSocket } from './ws.js';

/** What every page gets: the API, the live state, the tenant on screen and what the principal may do there. */
export interface AppContext {
  api: Api;
  live: LiveSocket;
  state: LiveState;
  tenant: string;
  role: Role | null;
  can(role: Role): boolean;
  navigate(page: string): void;
}

export interface Page {
  element: HTMLElement;
  dispose(): void;
}

export function makeCan(role: Role | null): (needed: Role) => boolean {
  return (needed) => roleIncludes(role, needed);
}
