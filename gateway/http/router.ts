import type { Logger } from 'pino';
import type { HttpRequest, HttpResponse, TemplatedApp } from '../uws.js';
import { CorralError } from '../../store/index.js';
import { Principal } from '../auth/principal.js';
import type { Role } from '../auth/roles.js';
import { refuseForeignOrigin, refuseNonLoopbackHost, refuseUnexpectedBodyType, type BodyKind } from './cross-site.js';
import { errorToHttp } from './errors.js';
import { HttpReply } from './reply.js';
import {
  MAX_BODY_BYTES,
  copyRequest,
  parseBody,
  parseExpectedRevision,
  parseQuery,
  readBody,
  refuseDeclaredBody,
  requestHasBody,
  responseBodyFor,
  bodyWasDrained,
  type CopiedRequest,
} from './request.js';
import { ResponseHandle } from './response.js';
import { ResponseStream, type StreamInit } from './stream.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** What every handler receives. Everything is already copied off the uWS request. */
export interface RequestContext {
  method: HttpMethod;
  /** the path without the query string, e.g. `/api/v1/tenants/acme/info` */
  path: string;
  /** named path parameters, URI-decoded: `{ t: 'acme' }` for `/api/v1/tenants/:t/info` */
  params: Record<string, string>;
  /** first value of each query parameter */
  query: Record<string, string>;
  searchParams: URLSearchParams;
  /** lower-case header names */
  headers: Record<string, string>;
  /** parsed JSON or urlencoded form body; undefined without a body */
  body: unknown;
  rawBody: Buffer | undefined;
  remoteAddress: string;
  /** who is calling; anonymous on `auth: 'none'` routes without credentials */
  principal: Principal;
  /** throws 401/403 unless the principal holds `role` on `tenant` (also validates the name) */
  requireRole(tenant: string, role: Role): Principal;
  /** `If-Match` header or body `expectedRevision` (header wins) */
  expectedRevision(): ReturnType<typeof parseExpectedRevision>;
  /** takes over the response for a chunked stream; the handler's return value is then ignored */
  stream(init?: StreamInit): ResponseStream;
  /** aborted when the client disconnects */
  signal: AbortSignal;
  log: Logger;
}

export type RouteHandler = (ctx: RequestContext) => unknown | Promise<unknown>;

export interface RouteOptions {
  /** `required` (default): a valid token is needed; `none`: public (health, login, path-token protocols) */
  auth?: 'required' | 'none';
  /** default 1 MiB */
  maxBodyBytes?: number;
  /** `json` (default); `json-or-form` also reads urlencoded forms (Salt's `/login`) */
  body?: BodyKind;
}

/** Resolves the caller of a request; implemented by gateway/auth. */
export interface RequestAuthenticator {
  /** Throws `unauthenticated` for bad credentials; returns anonymous when none were sent and `optional`. */
  authenticateRequest(request: { headers: Record<string, string>; query: Record<string, string>; remoteAddress?: string }, optional: boolean): Promise<Principal>;
}

export interface RouteObservation {
  method: string;
  /** the route pattern (bounded label set for metrics), or `unmatched` */
  route: string;
  status: number;
  durationMs: number;
}

interface CompiledRoute {
  method: HttpMethod;
  pattern: string;
  segments: { literal: string | null; param: string | null; rest: boolean }[];
  specificity: number;
  handler: RouteHandler;
  options: Required<RouteOptions>;
}

const METHODS_WITH_BODY = new Set(['post', 'put', 'patch', 'delete']);

/**
 * Routes over one uWS catch-all handler, so routes can be added from any module at any
 * time before or after listening, 404/405 are uniform JSON, and every request follows
 * the same sequence: copy -> read body -> authenticate -> handle -> reply.
 */
export class Router {
  private readonly routes: CompiledRoute[] = [];
  private readonly authenticator: RequestAuthenticator;
  private readonly log: Logger;
  private readonly observers: ((observation: RouteObservation) => void)[] = [];
  /**
   * Set while a restarting node drains (its successor already listens on the shared port):
   * requests are still served, each answered with `Connection: close`, so a kept-alive
   * client's next request opens a connection to the successor instead of failing.
   */
  draining = false;
  /** `performance.now()` when the last request arrived (a drain ends once they stop coming) */
  lastRequestAt = 0;
  /** set when the node stops serving: requests still arriving on kept-alive connections get 503 and a close */
  closing = false;
  /** requests being handled and not answered yet (a started stream counts as answered) */
  private inFlight = 0;
  private readonly idleWaiters = new Set<() => void>();

  /** `auth: none`: only requests for a loopback name are served (see refuseNonLoopbackHost) */
  private readonly loopbackHostsOnly: boolean;

  constructor(options: { authenticator: RequestAuthenticator; logger: Logger; loopbackHostsOnly?: boolean }) {
    this.authenticator = options.authenticator;
    this.log = options.logger;
    this.loopbackHostsOnly = options.loopbackHostsOnly ?? false;
  }

  get(pattern: string, handler: RouteHandler, options?: RouteOptions): this {
    return this.add('get', pattern, handler, options);
  }
  post(pattern: string, handler: RouteHandler, options?: RouteOptions): this {
    return this.add('post', pattern, handler, options);
  }
  put(pattern: string, handler: RouteHandler, options?: RouteOptions): this {
    return this.add('put', pattern, handler, options);
  }
  patch(pattern: string, handler: RouteHandler, options?: RouteOptions): this {
    return this.add('patch', pattern, handler, options);
  }
  delete(pattern: string, handler: RouteHandler, options?: RouteOptions): this {
    return this.add('delete', pattern, handler, options);
  }

  /**
   * Patterns: literal segments, `:name` parameters, and a final `*` matching the rest
   * (available as `params['*']`). Literal segments win over parameters, whatever the
   * order of registration. Registering the same method and pattern twice is a bug.
   */
  add(method: HttpMethod, pattern: string, handler: RouteHandler, options: RouteOptions = {}): this {
    if (!pattern.startsWith('/')) throw new Error(`route pattern must start with '/': ${pattern}`);
    const segments = splitPath(pattern).map((segment, index, all) => {
      if (segment === '*') {
        if (index !== all.length - 1) throw new Error(`'*' must be the last segment: ${pattern}`);
        return { literal: null, param: '*', rest: true };
      }
      if (segment.startsWith(':')) return { literal: null, param: segment.slice(1), rest: false };
      return { literal: segment, param: null, rest: false };
    });
    const normalized = `/${segments.map((s) => s.literal ?? (s.rest ? '*' : ':')).join('/')}`;
    if (this.routes.some((r) => r.method === method && `/${r.segments.map((s) => s.literal ?? (s.rest ? '*' : ':')).join('/')}` === normalized)) {
      throw new Error(`route ${method.toUpperCase()} ${pattern} is already registered`);
    }
    // Score per segment: literal 3, parameter 2, rest 1 (earlier segments weigh more).
    const specificity = segments.reduce((score, s) => score * 4 + (s.literal !== null ? 3 : s.rest ? 1 : 2), 0) * 64 + segments.length;
    this.routes.push({ method, pattern, segments, specificity, handler, options: { auth: 'required', maxBodyBytes: MAX_BODY_BYTES, body: 'json', ...options } });
    this.routes.sort((a, b) => b.specificity - a.specificity);
    return this;
  }

  /** Called after every request (metrics, access logs). */
  observe(observer: (observation: RouteObservation) => void): void {
    this.observers.push(observer);
  }

  /** Installs the catch-all on the uWS app. uWS still prefers its own more specific routes (websockets). */
  attach(app: TemplatedApp): void {
    app.any('/*', (res, req) => this.dispatch(res, req));
  }

  private match(method: string, path: string): { route: CompiledRoute; params: Record<string, string> } | { allowed: string[] } | null {
    const parts = splitPath(path);
    const allowed = new Set<string>();
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method) return { route, params };
      allowed.add(route.method.toUpperCase());
    }
    return allowed.size > 0 ? { allowed: [...allowed] } : null;
  }

  private dispatch(res: HttpResponse, req: HttpRequest): void {
    const started = performance.now();
    this.lastRequestAt = started;
    const request = copyRequest(res, req);
    // checked when the response goes out: a request that began before the drain ends with it too
    const handle = new ResponseHandle(res, () => this.draining || this.closing);
    if (this.closing) {
      handle.sendJson(503, { error: { code: 'unavailable', message: 'the server is shutting down' } }, {}, true);
      this.notify(request.method, 'unmatched', 503, started);
      return;
    }
    let found: ReturnType<Router['match']>;
    try {
      if (this.loopbackHostsOnly) refuseNonLoopbackHost(request.headers);
      found = this.match(request.method, request.path);
    } catch (error) {
      // a path with broken %-encoding
      this.finish(handle, request, 'unmatched', started, error);
      return;
    }
    if (!found) {
      this.finish(handle, request, 'unmatched', started, new CorralError('not-found', `no route for ${request.method.toUpperCase()} ${request.path}`));
      return;
    }
    if ('allowed' in found) {
      const error = new CorralError('bad-request', `method ${request.method.toUpperCase()} not allowed on ${request.path}; allowed: ${found.allowed.join(', ')}`);
      handle.sendJson(405, errorToHttp(error).body, { allow: found.allowed.join(', ') });
      this.notify(request.method, 'unmatched', 405, started);
      return;
    }
    const { route, params } = found;
    const mutating = METHODS_WITH_BODY.has(request.method);
    const hasBody = mutating && requestHasBody(request.headers);
    try {
      // Refused from the headers alone, before any of the body is read.
      if (mutating) refuseForeignOrigin(request.headers);
      if (hasBody) refuseUnexpectedBodyType(request.method, request.path, request.headers['content-type'], route.options.body);
      if (hasBody) refuseDeclaredBody(request.headers, route.options.maxBodyBytes);
    } catch (error) {
      this.finish(handle, request, route.pattern, started, error);
      return;
    }
    // The body must be subscribed to before this function returns (uWS rule).
    const body = hasBody ? readBody(res, request.headers, route.options.maxBodyBytes) : Promise.resolve(undefined);
    body.catch(() => undefined);
    this.inFlight++;
    let counted = true;
    const answered = (): void => {
      if (!counted) return;
      counted = false;
      if (--this.inFlight === 0) for (const wake of [...this.idleWaiters]) wake();
    };
    void this.run(route, params, request, handle, body, started, answered).finally(answered);
  }

  /**
   * Resolves once no request is being handled, or after `timeoutMs`: a stopping node waits for
   * the answers it still owes (a command it forwards, say) before its process exits.
   */
  idle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      this.idleWaiters.add(done);
    });
  }

  private async run(
    route: CompiledRoute,
    params: Record<string, string>,
    request: CopiedRequest,
    handle: ResponseHandle,
    bodyPromise: Promise<Buffer | undefined>,
    started: number,
    answered: () => void,
  ): Promise<void> {
    let streamed: ResponseStream | null = null;
    try {
      const { query, searchParams } = parseQuery(request.rawQuery);
      const principal = await this.principalFor(route, { headers: request.headers, query, remoteAddress: request.remoteAddress });
      const rawBody = await bodyPromise;
      const body = rawBody ? parseBody(rawBody, request.headers['content-type']) : undefined;
      const log = this.log;
      const ctx: RequestContext = {
        method: route.method,
        path: request.path,
        params,
        query,
        searchParams,
        headers: request.headers,
        body,
        rawBody,
        remoteAddress: request.remoteAddress,
        principal,
        requireRole: (tenant, role) => principal.require(tenant, role),
        expectedRevision: () =>
          parseExpectedRevision(request.headers['if-match'], isObject(body) ? body.expectedRevision : undefined),
        stream: (init) => {
          answered();
          if (!streamed) streamed = new ResponseStream(handle, init);
          return streamed;
        },
        signal: handle.signal,
        log,
      };
      const result = await route.handler(ctx);
      if (streamed) {
        this.notify(request.method, route.pattern, handle.status || 200, started);
        return;
      }
      if (result instanceof HttpReply) {
        if (result.raw !== undefined) handle.send(result.status, result.headers, result.raw);
        else handle.sendJson(result.status, result.body ?? null, result.headers);
      } else {
        handle.sendJson(result === undefined ? 204 : 200, result ?? null);
      }
      this.notify(request.method, route.pattern, handle.status, started);
    } catch (error) {
      if (streamed && handle.headersSent) {
        // Mid-stream: a status can no longer be sent; cut the connection so the client
        // cannot mistake a truncated stream for a complete one.
        this.log.error({ err: error, route: route.pattern }, 'stream failed');
        (streamed as ResponseStream).destroy();
        this.notify(request.method, route.pattern, 500, started);
        return;
      }
      this.finish(handle, request, route.pattern, started, error);
    }
  }

  /**
   * Public routes never fail on credentials: a probe or a login that carries a stale token
   * is served as anonymous (the handler decides what anonymous may do).
   */
  private async principalFor(route: CompiledRoute, credentials: Parameters<RequestAuthenticator['authenticateRequest']>[0]): Promise<Principal> {
    if (route.options.auth === 'required') return this.authenticator.authenticateRequest(credentials, false);
    try {
      return await this.authenticator.authenticateRequest(credentials, true);
    } catch (error) {
      if (error instanceof CorralError && error.code === 'unauthenticated') return Principal.anonymous();
      throw error;
    }
  }

  private finish(handle: ResponseHandle, request: CopiedRequest, route: string, started: number, error: unknown): void {
    const { status, body, internal, headers } = errorToHttp(error);
    if (internal) this.log.error({ err: error, method: request.method, path: request.path }, 'request failed');
    // A body we stopped reading may still be arriving: close the connection after replying.
    handle.send(status, { 'content-type': 'application/json', ...headers }, responseBodyFor(error, body), status === 413 && !bodyWasDrained(error));
    this.notify(request.method, route, status, started);
  }

  private notify(method: string, route: string, status: number, started: number): void {
    if (this.observers.length === 0) return;
    const observation = { method, route, status, durationMs: performance.now() - started };
    for (const observer of this.observers) observer(observation);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

function matchSegments(segments: CompiledRoute['segments'], parts: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.rest) {
      params['*'] = parts.slice(i).map(decodeSegment).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return null;
    if (segment.literal !== null) {
      if (segment.literal !== part) return null;
    } else {
      params[segment.param!] = decodeSegment(part);
    }
  }
  return parts.length === segments.length ? params : null;
}

function decodeSegment(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new CorralError('bad-request', `malformed percent-encoding in path segment ${JSON.stringify(part.slice(0, 80))}`);
  }
}
