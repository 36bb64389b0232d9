/**
 * Which credential owns each minion id (docs/security.md, "Minion identity"). The hub asks
 * before it welcomes a hello, so a connection can only take the id of a connected minion, or
 * of one that is away, with the credential that registered it:
 *
 * - an unbound id is bound to the credential of its first connection;
 * - a connection with the bound credential is accepted (and replaces a connected one, 4409);
 * - a minion token for the id (`corral token --minion ID`, minted with the cluster's secret)
 *   takes the id over and binds it to minion tokens from then on;
 * - any other credential is refused (4403) and displaces nothing.
 *
 * A credential is what a token proves, not the token string: minion tokens for one id are one
 * credential (so they can be rotated); any other token is its source, subject and the tenants
 * it may serve, so the local minion's `admin.token`, re-minted at every server start, stays
 * the same credential, while another tenant's operate token is a different one whatever its
 * subject.
 */
import { createHash } from 'node:crypto';
import { isWrongExpectedRevisionError, uuidv7, type EventStore } from '../../store/index.js';

export interface MinionCredentialParts {
  /** how the principal proved who it is (PrincipalSource) */
  source: string;
  subject: string;
  /** the tenants it may serve (`*`: any) */
  tenants: readonly string[];
  /** the minion id of a minion token; null for every other token */
  minion: string | null;
}

/** The credential a connection proves, as bindings compare it. */
export function minionCredential(parts: MinionCredentialParts): string {
  if (parts.minion !== null) return `minion-token:${parts.minion}`;
  return `${parts.source}:${parts.subject}:${[...new Set(parts.tenants)].sort().join(',')}`;
}

export type MinionClaim = { accepted: true } | { accepted: false; reason: string };

export interface MinionBindings {
  /** Binds `id` to `credential`, or refuses it when another credential owns the id. */
  claim(id: string, credential: string): Promise<MinionClaim>;
  /** Binds `id` to `credential` whatever owned it (the server reserving its local minion's id). */
  bind(id: string, credential: string): Promise<void>;
}

/** The stream that records who owns minion `id` (cluster-wide: an id is not per tenant). */
export const minionBindingStream = (id: string): string => `$minion-id-${id}`;

/**
 * What is stored: a digest, not the credential. The events have no tenant, and cluster-wide
 * events are visible to every principal (docs/security.md), so subjects and tenant lists of
 * other tenants must not be readable from them.
 */
const fingerprint = (credential: string): string => createHash('sha256').update(credential).digest('base64url').slice(0, 32);

type Decision = 'bound' | 'bind' | 'refuse';

function decide(id: string, owner: string | null, credential: string): Decision {
  if (owner === fingerprint(credential)) return 'bound';
  if (owner === null || credential === `minion-token:${id}`) return 'bind';
  return 'refuse';
}

const refusal = (id: string): MinionClaim => ({
  accepted: false,
  reason: `minion id ${id} is bound to another credential`,
});

/** Bindings held in memory only (tests, and hubs created without a store). */
export function memoryMinionBindings(): MinionBindings {
  const owners = new Map<string, string>();
  return {
    async claim(id, credential) {
      const decision = decide(id, owners.get(id) ?? null, credential);
      if (decision === 'refuse') return refusal(id);
      owners.set(id, fingerprint(credential));
      return { accepted: true };
    },
    async bind(id, credential) {
      owners.set(id, fingerprint(credential));
    },
  };
}

/**
 * Bindings recorded in the store (`$minion-id-<id>`, event `bindings.bind`), so they survive
 * restarts and hold on every node of a cluster. The first binding of an id is appended with
 * `noStream`, so two nodes that see two credentials claim one id at once agree on one owner.
 * Written at the system's model API like every event (the data has one shape in all models).
 * A binding seen once is remembered; a mismatch is read again, as another node may have
 * rebound the id to a minion token since.
 */
export function storeMinionBindings(store: EventStore, node: string, writeModel: () => number = () => 2): MinionBindings {
  const known = new Map<string, { owner: string; revision: number }>();

  async function read(id: string): Promise<{ owner: string; revision: number } | null> {
    const [latest] = await store.readStream(minionBindingStream(id), { direction: 'backward', limit: 1 });
    if (!latest) return null;
    const owner = (latest.data as { credential?: unknown }).credential;
    const entry = { owner: typeof owner === 'string' ? owner : '', revision: latest.revision };
    known.set(id, entry);
    return entry;
  }

  async function append(id: string, credential: string, expected: number | 'noStream' | 'any'): Promise<void> {
    const now = Date.now();
    const result = await store.append(
      minionBindingStream(id),
      [{ id: uuidv7(now), type: 'bindings', action: 'bind', key: id, schema: writeModel(), data: { credential: fingerprint(credential) }, meta: { principal: node, node } }],
      { expectedRevision: expected },
    );
    known.set(id, { owner: fingerprint(credential), revision: result.lastRevision });
  }

  return {
    async claim(id, credential) {
      const cached = known.get(id);
      if (cached && decide(id, cached.owner, credential) === 'bound') return { accepted: true };
      for (let attempt = 0; attempt < 3; attempt++) {
        const current = await read(id);
        const decision = decide(id, current?.owner ?? null, credential);
        if (decision === 'bound') return { accepted: true };
        if (decision === 'refuse') return refusal(id);
        try {
          await append(id, credential, current ? current.revision : 'noStream');
          return { accepted: true };
        } catch (error) {
          // another node bound the id meanwhile: decide again on what it wrote
          if (!isWrongExpectedRevisionError(error)) throw error;
        }
      }
      return refusal(id);
    },
    async bind(id, credential) {
      const current = await read(id);
      if (current && current.owner === fingerprint(credential)) return;
      await append(id, credential, 'any');
    },
  };
}
