import { CorralError, UnavailableError, isCorralError, type ErrorCode } from '../../../store/index.js';
import { currentCorrelation, parseCorrelationId, withCorrelation } from '../../../actors/index.js';
import { Principal, type PrincipalSource, type TenantRoles, type TokenService } from '../../auth/index.js';
import { errorToHttp, HttpReply } from '../../http/index.js';
import type { Gateway } from '../../server.js';
import type { CommandDispatcher, CommandResult } from './table.js';

/**
 * Commands sent to a node that does not run the actors are forwarded to the one that does
 * (docs/operations.md, "Commands on any node"): over HTTP to the leader's own address, as a
 * message sealed with the cluster secret (only servers hold it), carrying the caller's
 * principal and `expectedRevision` unchanged. One hop at most: the receiving node runs the
 * command or refuses it, it never forwards again. A client therefore gets the leader's
 * answer from any node, including during a rolling restart's hand-over, and a 503 only when
 * no node took the lease within `waitMs`.
 */
export const FORWARD_PATH = '/internal/v1/commands';
const FORWARD_PURPOSE = 'forward-command';
const MAC_HEADER = 'x-corral-forward-mac';
/** a sealed message older (or newer) than this is refused: a captured one cannot be replayed later */
const MAX_SKEW_MS = 30_000;
/** forwarded bodies carry the command's arguments (job args up to 1 MiB) and a small envelope */
const MAX_FORWARD_BYTES = 2 * 1024 * 1024;
/** how often a node without a leader to run or forward to looks again */
const RETRY_MS = 50;

interface ForwardedCommand {
  sentAt: number;
  /** the caller's correlation id, if it gave one: the leader records it */
  correlationId: string | null;
  name: string;
  tenant: string;
  args: Record<string, unknown>;
  expectedRevision: number | null;
  principal: { subject: string; tenants: TenantRoles; source: PrincipalSource; expiresAt: number | null };
}

export interface ForwardingOptions {
  /** runs the command on this node (the command table) */
  local: CommandDispatcher;
  /** this node runs the actors now */
  runsActors(): boolean;
  /** this node holds the lease (its actors are starting or running) */
  leads(): boolean;
  /** the address that reaches the leader's own process, while another node leads; else null */
  leaderAddress(): Promise<string | null>;
  tokens: TokenService;
  /** how long a command waits for a leader (default 10 s: a lease hand-over takes well under that) */
  waitMs?: number;
}

/** A refusal that happened before anything ran: trying another node is safe. */
const refusedBeforeRunning = (error: unknown): boolean =>
  isCorralError(error) && error.code === 'unavailable' && error.details !== undefined && 'leaderUrl' in error.details;

/**
 * The dispatcher every protocol uses: runs the command here while this node runs the actors,
 * forwards it to the leader otherwise, and waits (bounded) while no node leads.
 */
export function forwardingDispatcher(options: ForwardingOptions): { dispatch: CommandDispatcher; runForwarded: CommandDispatcher } {
  const waitMs = options.waitMs ?? 10_000;

  /** Runs here, waiting while this node's actors start; never forwards. */
  const runHere = async (...call: Parameters<CommandDispatcher>): Promise<CommandResult> => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (options.runsActors()) {
        try {
          return await options.local(...call);
        } catch (error) {
          if (!refusedBeforeRunning(error) || Date.now() >= deadline) throw error;
        }
      } else if (!options.leads() || Date.now() >= deadline) {
        throw new UnavailableError('this node is not the leader and does not forward a forwarded command again', { leaderUrl: null });
      }
      await sleep(RETRY_MS);
    }
  };

  const dispatch: CommandDispatcher = async (name, tenant, args, principal, expectedRevision) => {
    const deadline = Date.now() + waitMs;
    let lastFailure: unknown = null;
    for (;;) {
      if (options.runsActors()) {
        try {
          return await options.local(name, tenant, args, principal, expectedRevision);
        } catch (error) {
          if (!refusedBeforeRunning(error)) throw error;
          lastFailure = error;
        }
      } else if (!options.leads()) {
        const address = await options.leaderAddress();
        if (address !== null) {
          try {
            const command: ForwardedCommand = {
              sentAt: Date.now(),
              correlationId: currentCorrelation() ?? null,
              name,
              tenant,
              args,
              expectedRevision: expectedRevision ?? null,
              principal: sealedPrincipal(principal),
            };
            return await send(address, command);
          } catch (error) {
            if (!refusedBeforeRunning(error) && !(error instanceof LeaderUnreachable)) throw error;
            lastFailure = error;
          }
        }
      }
      if (Date.now() >= deadline) {
        const why = lastFailure instanceof Error ? ` (last: ${lastFailure.message})` : '';
        throw new UnavailableError(`no leader accepted the command within ${waitMs} ms${why}; retry later`, { leaderUrl: null });
      }
      await sleep(RETRY_MS);
    }
  };

  async function send(address: string, command: ForwardedCommand): Promise<CommandResult> {
    const body = JSON.stringify(command);
    let response: Response;
    try {
      response = await fetch(`${address}${FORWARD_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [MAC_HEADER]: options.tokens.mac(FORWARD_PURPOSE, body) },
        body,
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new LeaderUnreachable(`the leader at ${address} did not answer: ${(error as Error).message}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new LeaderUnreachable(`the leader at ${address} answered ${response.status} without JSON`);
    }
    if (response.ok) return parsed as CommandResult;
    const { code, message, ...details } = (parsed as { error?: { code?: string; message?: string } }).error ?? {};
    throw new CorralError((code ?? 'internal') as ErrorCode, message ?? `the leader answered ${response.status}`, details);
  }

  const runForwarded: CommandDispatcher = (...call) => runHere(...call);
  return { dispatch, runForwarded };
}

/** The route a leader answers forwarded commands on (every node registers it). */
export function registerForwardRoute(gateway: Gateway, options: { runForwarded: CommandDispatcher; tokens: TokenService }): void {
  gateway.router.post(
    FORWARD_PATH,
    async (ctx) => {
      const mac = ctx.headers[MAC_HEADER];
      const raw = ctx.rawBody?.toString('utf8') ?? '';
      if (!mac || !options.tokens.verifyMac(FORWARD_PURPOSE, raw, mac)) {
        throw new CorralError('unauthenticated', 'forwarded commands are only accepted from servers of this cluster');
      }
      const command = ctx.body as ForwardedCommand;
      if (typeof command.sentAt !== 'number' || Math.abs(Date.now() - command.sentAt) > MAX_SKEW_MS) {
        throw new CorralError('unauthenticated', `a forwarded command must be sent within ${MAX_SKEW_MS / 1000} s`);
      }
      const { subject, tenants, source, expiresAt } = command.principal;
      if (expiresAt !== null && expiresAt <= Date.now()) throw new CorralError('unauthenticated', 'token expired');
      const principal = new Principal(subject, tenants, source, expiresAt);
      const run = () => options.runForwarded(command.name, command.tenant, command.args, principal, command.expectedRevision ?? undefined);
      try {
        return HttpReply.json(await (typeof command.correlationId !== 'string' ? run() : withCorrelation(parseCorrelationId(command.correlationId, 'correlationId'), run)), 200);
      } catch (error) {
        const reply = errorToHttp(error);
        if (reply.internal) throw error;
        return HttpReply.json(reply.body, reply.status);
      }
    },
    { auth: 'none', maxBodyBytes: MAX_FORWARD_BYTES },
  );
}

class LeaderUnreachable extends Error {}

const sealedPrincipal = (principal: Principal): ForwardedCommand['principal'] => ({
  subject: principal.subject,
  tenants: { ...principal.tenants },
  source: principal.source,
  expiresAt: principal.expiresAt,
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
