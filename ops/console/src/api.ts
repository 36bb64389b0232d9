/**
 * The HTTP side of README "HTTP" as the console uses it. Every call carries the session
 * token; every error becomes an ApiError holding the server's code, message and, for
 * filter and specifier errors, the character position where parsing failed.
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** where a filter or specifier failed to parse (0-based), when the server said */
  readonly position: number | null;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.position = typeof details.position === 'number' ? details.position : positionInMessage(message);
  }
}

/** `... at character 12 ...` in the filter parser's messages. */
export function positionInMessage(message: string): number | null {
  const match = /at character (\d+)/.exec(message);
  return match ? Number(match[1]) : null;
}

export type Role = 'read' | 'operate' | 'admin';
const RANK: Record<Role, number> = { read: 1, operate: 2, admin: 3 };
export const roleIncludes = (held: Role | null, needed: Role): boolean => held !== null && RANK[held] >= RANK[needed];

export interface Info {
  version: string;
  capabilities: string[];
  auth: 'none' | 'tokens';
  websocketUrl?: string;
  principal?: { subject: string; tenants: Record<string, Role> };
}

export interface ListBody<T> {
  view?: string;
  items: T[];
  position: number;
}

export interface HistoryEvent {
  position: number;
  time: string;
  type: string;
  action: string;
  key: string;
  tenant?: string;
  data: unknown;
  meta?: { principal?: string } & Record<string, unknown>;
}

export interface EventPage {
  events: HistoryEvent[];
  next: number | null;
  head: number;
}

export class Api {
  constructor(private readonly token: string | null) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (error) {
      throw new ApiError(0, 'unavailable', `cannot reach the server (${(error as Error).message})`);
    }
    const text = await response.text();
    let parsed: unknown = null;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) {
      const error = (parsed as { error?: Record<string, unknown> } | null)?.error;
      if (error && typeof error.message === 'string') throw new ApiError(response.status, String(error.code ?? 'error'), error.message, error);
      throw new ApiError(response.status, 'error', `${method} ${path}: HTTP ${response.status}`);
    }
    return parsed as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  info(): Promise<Info> {
    return this.get<Info>('/api/v1/info');
  }

  tenantPath(tenant: string, rest: string): string {
    return `/api/v1/tenants/${encodeURIComponent(tenant)}/${rest}`;
  }

  list<T>(tenant: string, collection: string, query: Record<string, string> = {}): Promise<ListBody<T>> {
    const search = new URLSearchParams(query).toString();
    return this.get<ListBody<T>>(this.tenantPath(tenant, collection) + (search ? `?${search}` : ''));
  }

  /** A view as it was at `at` (a position or an ISO time): time travel. */
  viewAt<T>(tenant: string, view: string, at: number | string): Promise<ListBody<T>> {
    return this.list<T>(tenant, `views/${encodeURIComponent(view)}`, { at: String(at) });
  }

  events(tenant: string, query: { from?: number | string; limit?: number; select?: string; filter?: string }): Promise<EventPage> {
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params[name] = String(value);
    return this.get<EventPage>(this.tenantPath(tenant, `events?${new URLSearchParams(params).toString()}`));
  }

  watcherCommand(tenant: string, watcher: string, command: 'start' | 'stop' | 'restart' | 'reload'): Promise<unknown> {
    return this.request('POST', this.tenantPath(tenant, `watchers/${encodeURIComponent(watcher)}/${command}`), {});
  }

  scaleWatcher(tenant: string, watcher: string, numprocesses: number): Promise<unknown> {
    return this.request('PATCH', this.tenantPath(tenant, `watchers/${encodeURIComponent(watcher)}`), { numprocesses });
  }

  addWatcher(tenant: string, spec: Record<string, unknown>): Promise<unknown> {
    return this.request('POST', this.tenantPath(tenant, 'watchers'), spec);
  }

  removeWatcher(tenant: string, watcher: string): Promise<unknown> {
    return this.request('DELETE', this.tenantPath(tenant, `watchers/${encodeURIComponent(watcher)}`));
  }

  /** `processId` is the key without the tenant: `web:0` */
  killProcess(tenant: string, processId: string, signal: string): Promise<unknown> {
    return this.request('POST', this.tenantPath(tenant, `processes/${encodeURIComponent(processId)}/kill`), { signal });
  }

  runJob(tenant: string, job: { fun: string; args: unknown[]; tgt: string; tgtType: string; timeoutMs?: number }): Promise<{ jid: string }> {
    return this.request<{ jid: string }>('POST', this.tenantPath(tenant, 'jobs'), job);
  }
}

/** Salt's `POST /login`: a configured user's name and password for a token. */
export async function login(username: string, password: string): Promise<string> {
  const body = await new Api(null).request<{ return: { token: string }[] }>('POST', '/login', { username, password, eauth: 'corral' });
  const token = body.return?.[0]?.token;
  if (!token) throw new ApiError(500, 'internal', 'the server answered the login without a token');
  return token;
}
