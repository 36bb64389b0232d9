import { Packr } from 'msgpackr';
import { downcastChange, type Change } from '../../projections/index.js';

/** A frame ready for `publish`/`send`: text (JSON) or binary (msgpack). */
export type Frame = string | Uint8Array;

export type WireEncoding = 'json' | 'msgpack';

// Plain maps (no msgpackr records): any msgpack decoder in any language reads the frames.
const packr = new Packr({ useRecords: false, moreTypes: false });

export const encodeMessage = (encoding: WireEncoding, message: unknown): Frame =>
  encoding === 'json' ? JSON.stringify(message) : packr.pack(message);

export const frameBytes = (frame: Frame): number => (typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength);

/**
 * Per-turn memo of the parts of frames that do not depend on the group: the same change
 * serialised for several groups (different `sub` ids, same model) is stringified once.
 * A fresh one is used for every published slice and every catch-up page.
 */
export class EncodeTurn {
  /** one plain record per change (kind -> encoded part): most changes are encoded for one group only */
  private readonly memo = new Map<Change, Record<string, unknown>>();
  readonly ownModel: number;

  constructor(ownModel: number) {
    this.ownModel = ownModel;
  }

  cached<T>(change: Change, kind: string, build: () => T): T {
    let entry = this.memo.get(change);
    if (entry === undefined) {
      entry = {};
      this.memo.set(change, entry);
    }
    let value = entry[kind] as T | undefined;
    if (value === undefined) {
      value = build();
      entry[kind] = value;
    }
    return value;
  }

  /** The change as a subscriber at `model` sees it (downcast once per model and change). */
  atModel(change: Change, model: number): Change {
    if (model >= this.ownModel) return change;
    return this.cached(change, `m${model}`, () => downcastChange(change, model, this.ownModel));
  }
}

/**
 * How one delivery group turns matched changes into frames. Every socket in the group gets
 * exactly these bytes (uWS copies them per socket), so a format never looks at a socket.
 */
export interface FrameFormat {
  /** part of the group key: equal keys must mean byte-identical frames */
  readonly key: string;
  readonly binary: boolean;
  encode(changes: readonly Change[], turn: EncodeTurn): Frame[];
  /** the protocol's notice that a subscription fell behind (none for compatible protocols) */
  lagged?(position: number): Frame;
  /** the protocol's notice that history ended and live delivery starts */
  live?(position: number): Frame;
}

/** The whole second last formatted: consecutive events mostly share it, and toISOString is costly per event. */
let isoSecond = NaN;
let isoPrefix = '';

/** `Date#toISOString` of an epoch-ms time, reusing the formatted second. */
export function iso(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond || !Number.isInteger(ms)) {
    if (!Number.isInteger(ms) || ms < 0 || ms >= 253402300800000) return new Date(ms).toISOString();
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20); // YYYY-MM-DDTHH:MM:SS.
  }
  const millis = ms - second * 1000;
  return `${isoPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

/**
 * Types whose change object is only the event's data plus its key (README, the native
 * protocol): their native frames leave `object` and `original` (always null) out unless the
 * subscription asked for `"objects": true`, so the line travels once (issue 16). Not
 * `processes.stats`: its object is the whole process view, which clients keep (the console
 * folds it into its processes table).
 */
const DATA_ONLY_TYPES: ReadonlySet<string> = new Set(['logs']);

/** `{"op":"event","sub",...}` of README "Subscribe from a shell", JSON or msgpack, one frame per change or one array frame. */
export class NativeEventFormat implements FrameFormat {
  readonly key: string;
  readonly binary: boolean;
  private readonly subJson: string;
  private readonly bodyKind: string;

  constructor(
    readonly sub: string,
    readonly encoding: WireEncoding,
    readonly model: number,
    readonly batch: boolean,
    /** `"objects": true`: `object` and `original` also for data-only types (`logs`) */
    readonly objects = false,
  ) {
    this.binary = encoding === 'msgpack';
    this.subJson = JSON.stringify(sub);
    this.bodyKind = `native-json-m${model}${objects ? '-objects' : ''}`;
    this.key = `native|${encoding}|m${model}|${batch ? 'batch' : 'single'}|${objects ? 'objects' : 'lean'}|${sub}`;
  }

  encode(changes: readonly Change[], turn: EncodeTurn): Frame[] {
    if (this.encoding === 'json') {
      const head = `{"op":"event","sub":${this.subJson},`;
      const parts = changes.map((change) => head + this.body(change, turn));
      return this.batch ? [`[${parts.join(',')}]`] : parts;
    }
    const messages = changes.map((change) => ({ op: 'event', sub: this.sub, ...this.fields(turn.atModel(change, this.model)) }));
    return this.batch ? [packr.pack(messages)] : messages.map((message) => packr.pack(message));
  }

  lagged(position: number): Frame {
    return encodeMessage(this.encoding, { op: 'lagged', sub: this.sub, pos: position });
  }

  live(position: number): Frame {
    return encodeMessage(this.encoding, { op: 'live', id: this.sub, position });
  }

  /** The event's fields after `{"op","sub",` up to the closing brace: JSON.stringify of `fields`, without building it. */
  private body(change: Change, turn: EncodeTurn): string {
    return turn.cached(change, this.bodyKind, () => {
      const at = turn.atModel(change, this.model);
      let text = `"pos":${at.position},${at.ephemeral ? '"ephemeral":true,' : ''}"time":"${iso(at.time)}","type":${JSON.stringify(at.type)},"action":${JSON.stringify(at.action)},"key":${JSON.stringify(at.key)}`;
      if (at.tenant !== undefined) text += `,"tenant":${JSON.stringify(at.tenant)}`;
      text += `,"data":${JSON.stringify(at.data ?? null)}`;
      if (!this.objects && DATA_ONLY_TYPES.has(at.type)) return `${text}}`;
      const object = JSON.stringify(at.object);
      if (object !== undefined) text += `,"object":${object}`;
      const original = JSON.stringify(at.original);
      if (original !== undefined) text += `,"original":${original}`;
      return `${text}}`;
    });
  }

  private fields(change: Change): Record<string, unknown> {
    const fields: Record<string, unknown> = {
      pos: change.position,
      ...(change.ephemeral ? { ephemeral: true } : {}),
      time: iso(change.time),
      type: change.type,
      action: change.action,
      key: change.key,
    };
    if (change.tenant !== undefined) fields.tenant = change.tenant;
    fields.data = change.data ?? null;
    if (!this.objects && DATA_ONLY_TYPES.has(change.type)) return fields;
    fields.object = change.object;
    fields.original = change.original;
    return fields;
  }
}

/**
 * Digital Rebar's event shape `{"Time","Type","Action","Key","Principal","Object","Original"}`.
 * Connection events are keyed by principal, as Digital Rebar documents (`connections.create.<principal>`).
 */
export class DrpEventFormat implements FrameFormat {
  readonly key = 'drp';
  readonly binary = false;

  encode(changes: readonly Change[], turn: EncodeTurn): Frame[] {
    return changes.map((change) =>
      turn.cached(change, 'drp', () =>
        JSON.stringify({
          Time: iso(change.time),
          Type: change.type,
          Action: change.action,
          Key: drpKey(change),
          Principal: change.principal ?? '',
          Object: change.object,
          Original: change.original,
        }),
      ),
    );
  }
}

export const drpKey = (change: Change): string =>
  change.type === 'connections' ? String((change.object ?? change.original)?.principal ?? change.key) : change.key;

/** Salt's `/all_events`: `{"tag":"corral/<type>/<action>/<key>","data":{...,"_stamp"}}`. */
export class SaltAllEventsFormat implements FrameFormat {
  readonly key = 'salt-all';
  readonly binary = false;

  encode(changes: readonly Change[], turn: EncodeTurn): Frame[] {
    return changes.map((change) =>
      turn.cached(change, 'salt-all', () => {
        const data = change.data !== null && typeof change.data === 'object' && !Array.isArray(change.data) ? change.data : { value: change.data ?? null };
        return JSON.stringify({
          tag: `corral/${change.type}/${change.action}/${change.key}`,
          data: { ...data, _stamp: iso(change.time), pos: change.position, tenant: change.tenant ?? null },
        });
      }),
    );
  }
}

/**
 * Salt's `/formatted_events`: the current state of each changed minion
 * (`{"minions":{<id>:{"id",...,"grains"}}}`) and job (`{"jobs":{<jid>:{...}}}`), mapped
 * from the minions and jobs views. Only the changed object is sent, as each change arrives.
 */
export class SaltFormattedFormat implements FrameFormat {
  readonly key = 'salt-formatted';
  readonly binary = false;

  encode(changes: readonly Change[], turn: EncodeTurn): Frame[] {
    const frames: Frame[] = [];
    for (const change of changes) {
      const frame = turn.cached(change, 'salt-formatted', () => formatSalt(change));
      if (frame) frames.push(frame);
    }
    return frames;
  }
}

function formatSalt(change: Change): string {
  const object = change.object ?? change.original;
  if (!object) return '';
  if (change.type === 'minions') {
    const minion = saltMinion(object);
    return JSON.stringify({ minions: { [minion.id as string]: minion } });
  }
  if (change.type === 'jobs') {
    const job = saltJob(object);
    return JSON.stringify({ jobs: { [job.jid as string]: job } });
  }
  return '';
}

export function saltMinion(object: Record<string, unknown>): Record<string, unknown> {
  const id = String(object.id ?? String(object.key ?? '').split(':').slice(1).join(':'));
  return {
    id,
    tenant: object.tenant ?? null,
    state: object.state ?? null,
    version: object.version ?? null,
    connectedAt: typeof object.connectedAt === 'number' ? iso(object.connectedAt) : null,
    lastSeen: typeof object.lastSeen === 'number' ? iso(object.lastSeen) : null,
    grains: object.grains ?? {},
  };
}

export function saltJob(object: Record<string, unknown>): Record<string, unknown> {
  const minions: Record<string, unknown> = {};
  for (const [id, result] of Object.entries((object.minions as Record<string, Record<string, unknown>> | undefined) ?? {})) {
    minions[id] = { return: result.return ?? null, retcode: result.retcode ?? null, success: result.success ?? null, state: result.state ?? null };
  }
  return {
    jid: object.jid,
    fun: object.fun,
    args: object.args ?? [],
    tgt: object.tgt,
    tgt_type: object.tgtType,
    start_time: typeof object.startTime === 'number' ? iso(object.startTime) : null,
    state: object.state,
    user: object.user ?? null,
    tenant: object.tenant ?? null,
    minions,
  };
}
