import { InvalidArgumentError, NotFoundError, isWrongExpectedRevisionError } from '../../../store/index.js';
import type { ProjectionEngine } from '../../../projections/index.js';
import { parseCorrelationId, withCorrelation } from '../../../actors/index.js';
import { HttpReply, type RequestContext } from '../../http/index.js';
import type { Gateway } from '../../server.js';
import type { Role } from '../../auth/index.js';
import type { CommandDispatcher, CommandResult } from './table.js';

export interface CommandRouteDeps {
  dispatch: CommandDispatcher;
  /** the role each command needs (the command table's): checked before the body is read */
  roleOf: (name: string) => Role;
  /** for `GET /api/v1/tenants/{t}` (the tenants view); without it the route is not registered */
  engine?: ProjectionEngine | null;
}

const WATCHER_ACTIONS = ['start', 'stop', 'restart', 'reload'] as const;

function bodyObject(ctx: RequestContext): Record<string, unknown> {
  const body = ctx.body;
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new InvalidArgumentError('the request body must be a JSON object', { field: 'body' });
  const { expectedRevision: _revision, ...rest } = body as Record<string, unknown>;
  return rest;
}

/**
 * `If-Match`/body `expectedRevision` as the runtime takes it: a revision number, -1 for
 * "must not exist yet" (`noStream`), undefined for no check.
 */
function expectedRevisionOf(ctx: RequestContext): number | undefined {
  const expected = ctx.expectedRevision();
  if (expected === undefined || expected === 'any') return undefined;
  if (expected === 'noStream') return -1;
  if (expected === 'streamExists') throw new InvalidArgumentError('If-Match: * is not supported on commands: send the revision you read', { field: 'If-Match' });
  return expected;
}

function commandReply(result: CommandResult, status = 200): HttpReply {
  const last = result.positions.length > 0 ? Math.max(...result.positions) : null;
  // `x-corral-position`: the position to wait for in the views (or `?at=`) to see the effect.
  return HttpReply.json({ ...result, position: last }, status, last === null ? {} : { 'x-corral-position': String(last) });
}

/**
 * The write side of README "HTTP". Roles (§7): process and job commands need `operate`,
 * tenant and watcher configuration `admin` (checked by the command table, the same one the
 * native websocket's `cmd` uses). A node that does not lead forwards the command to
 * the leader (forward.ts; docs/operations.md, "Commands on any node"). Bad input is a 400 naming the field, and nothing
 * is appended; a stale `expectedRevision` (`If-Match` or body) is a 409 with
 * `currentRevision`.
 */
export function registerCommandRoutes(gateway: Gateway, deps: CommandRouteDeps): void {
  const { router } = gateway;
  const { dispatch } = deps;
  const run = (ctx: RequestContext, name: string, args: Record<string, unknown>): Promise<CommandResult> => {
    const send = (): Promise<CommandResult> => dispatch(name, ctx.params.t!, args, ctx.principal, expectedRevisionOf(ctx));
    // a client's id for the events this command records (README, "Correlation ids")
    const correlation = ctx.headers['x-correlation-id'];
    return correlation === undefined ? send() : withCorrelation(parseCorrelationId(correlation, 'X-Correlation-Id'), send);
  };
  /**
   * The role first, then the body: a caller who may not run a command gets 403 whatever it
   * sent, and learns nothing from the command's validation (the dispatcher checks again).
   */
  const allow = (ctx: RequestContext, name: string): void => void ctx.principal.require(ctx.params.t!, deps.roleOf(name));

  if (deps.engine) {
    const engine = deps.engine;
    router.get('/api/v1/tenants/:t', async (ctx) => {
      const tenant = ctx.params.t!;
      ctx.requireRole(tenant, 'read');
      const found = (await engine.view('tenants', { tenants: [tenant] })).find((item) => (item as { key?: string }).key === tenant);
      if (!found) throw new NotFoundError(`tenant ${tenant} not found`, { tenant });
      return HttpReply.json(found, 200, { 'x-corral-position': String(engine.position) });
    });
  }

  router.put('/api/v1/tenants/:t', async (ctx) => {
    ctx.principal.require(ctx.params.t!, 'admin');
    bodyOnlyRevision(ctx);
    const expected = expectedRevisionOf(ctx);
    try {
      return commandReply({ ...(await run(ctx, 'tenants.create', {})), created: true }, 201);
    } catch (error) {
      // PUT is idempotent: an existing tenant is fine unless the caller asked for a revision.
      if (expected === undefined && isWrongExpectedRevisionError(error)) return commandReply({ positions: [], created: false });
      throw error;
    }
  });
  router.delete('/api/v1/tenants/:t', async (ctx) => {
    allow(ctx, 'tenants.destroy');
    bodyOnlyRevision(ctx);
    return commandReply(await run(ctx, 'tenants.destroy', {}));
  });
  router.post('/api/v1/tenants/:t/reconfigure', async (ctx) => {
    allow(ctx, 'tenants.reconfigure');
    return commandReply(await run(ctx, 'tenants.reconfigure', bodyObject(ctx)));
  });

  router.post('/api/v1/tenants/:t/watchers', async (ctx) => {
    allow(ctx, 'watchers.create');
    return commandReply(await run(ctx, 'watchers.create', bodyObject(ctx)), 201);
  });
  router.patch('/api/v1/tenants/:t/watchers/:w', async (ctx) => {
    allow(ctx, 'watchers.update');
    const patch = bodyObject(ctx);
    if ('name' in patch) throw new InvalidArgumentError('a watcher cannot be renamed: the name is in the path', { field: 'name' });
    return commandReply(await run(ctx, 'watchers.update', { ...patch, name: ctx.params.w! }));
  });
  router.delete('/api/v1/tenants/:t/watchers/:w', async (ctx) => {
    allow(ctx, 'watchers.destroy');
    bodyOnlyRevision(ctx);
    return commandReply(await run(ctx, 'watchers.destroy', { name: ctx.params.w! }));
  });
  for (const action of WATCHER_ACTIONS) {
    router.post(`/api/v1/tenants/:t/watchers/:w/${action}`, async (ctx) => {
      allow(ctx, `watchers.${action}`);
      bodyOnlyRevision(ctx);
      return commandReply(await run(ctx, `watchers.${action}`, { name: ctx.params.w! }));
    });
  }

  router.post('/api/v1/tenants/:t/processes/:id/kill', async (ctx) => {
    allow(ctx, 'processes.kill');
    const body = bodyObject(ctx);
    for (const key of Object.keys(body)) {
      if (key !== 'signal') throw new InvalidArgumentError(`unknown field "${key}" (allowed: signal)`, { field: key });
    }
    return commandReply(await run(ctx, 'processes.kill', { process: ctx.params.id!, ...body }));
  });

  router.post('/api/v1/tenants/:t/jobs', async (ctx) => {
    allow(ctx, 'jobs.create');
    const body = bodyObject(ctx);
    if (ctx.body === undefined) throw new InvalidArgumentError('a job needs a JSON body: {"fun", "args", "tgt", "tgtType", "timeoutMs"}', { field: 'body' });
    return commandReply(await run(ctx, 'jobs.create', body), 201);
  });
  router.post('/api/v1/tenants/:t/jobs/:jid/cancel', async (ctx) => {
    allow(ctx, 'jobs.cancel');
    bodyOnlyRevision(ctx);
    return commandReply(await run(ctx, 'jobs.cancel', { jid: ctx.params.jid! }));
  });
}

/** Commands whose target is all in the path accept a body with at most `expectedRevision`. */
function bodyOnlyRevision(ctx: RequestContext): void {
  const rest = bodyObject(ctx);
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new InvalidArgumentError(`unknown field "${extra[0]}": this command takes no body (except expectedRevision)`, { field: extra[0] });
}
