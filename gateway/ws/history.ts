import type { RecordedEvent } from '../../store/index.js';
import {
  INTERNAL_MODEL,
  convertEventData,
  downcastView,
  foldEvent,
  upcastEvent,
  type Change,
  type ProjectionEngine,
  type ViewState,
} from '../../projections/index.js';

const LOGS_EXCLUDED: readonly string[] = ['logs'];

/**
 * A pull-based reader of the changes after a position, for one socket's catch-up. Unlike
 * `engine.changesAfter` (which pushes pages as fast as the store reads), it reads the next
 * page only when asked, so a socket that cannot keep up holds at most one page in memory:
 * the store is the buffer (DESIGN.md §9).
 *
 * `object`/`original` are folded from the engine's views at the start position, so they are
 * exactly what live subscribers saw. The caller decides when it has reached the live
 * position (see `FanoutHub`): `nextPage(target)` never returns a change beyond `target`.
 */
export class HistoryReader {
  private state: ViewState | null = null;
  private cursorValue: number;

  constructor(
    private readonly engine: ProjectionEngine,
    after: number,
    readonly includeLogs: boolean,
    private readonly pageSize = 1000,
  ) {
    this.cursorValue = after;
  }

  /** Everything up to here has been returned. */
  get cursor(): number {
    return this.cursorValue;
  }

  /**
   * The changes in (cursor, target], at most one page. `target` must be a position the
   * engine has already folded (so the store holds every event up to it): a short page then
   * proves nothing below `target` is missing and the cursor jumps to it.
   */
  async nextPage(target: number): Promise<Change[]> {
    if (this.cursorValue >= target) return [];
    this.state ??= await this.engine.stateAt(this.cursorValue);
    const page = await this.engine.store.readAll(
      this.includeLogs ? { after: this.cursorValue, limit: this.pageSize } : { after: this.cursorValue, limit: this.pageSize, excludeTypes: LOGS_EXCLUDED },
    );
    const last = page.length > 0 ? page[page.length - 1]!.position : this.cursorValue;
    const inRange = last > target ? page.filter((event) => event.position <= target) : page;
    const changes: Change[] = new Array(inRange.length);
    for (let i = 0; i < inRange.length; i++) changes[i] = foldToChange(this.state, inRange[i]!, this.engine.ownModel);
    this.cursorValue = page.length < this.pageSize || last >= target ? target : last;
    return changes;
  }
}

/** Mirrors the engine's own fold (projections/engine/changes.ts) for one stored event. */
function foldToChange(state: ViewState, raw: RecordedEvent, ownModel: number): Change {
  let object: Record<string, unknown> | null = null;
  let original: Record<string, unknown> | null = null;
  if (raw.type === 'logs') {
    object = { key: raw.key, ...(raw.data as Record<string, unknown>) };
  } else {
    try {
      const result = foldEvent(state, raw.schema === INTERNAL_MODEL ? raw : upcastEvent(raw, INTERNAL_MODEL));
      object = result.object as Record<string, unknown> | null;
      original = result.original as Record<string, unknown> | null;
    } catch {
      // the engine skips (and logs) events it cannot fold; the same event fails the same way here
    }
  }
  let data = raw.data;
  let schema = raw.schema;
  if (schema !== ownModel) {
    data = convertEventData(raw.type, raw.action, data, schema, ownModel);
    if (data !== raw.data) schema = ownModel;
  }
  if (ownModel < INTERNAL_MODEL) {
    if (object) object = downcastView(raw.type, object, ownModel);
    if (original) original = downcastView(raw.type, original, ownModel);
  }
  return {
    position: raw.position,
    time: raw.time,
    id: raw.id,
    stream: raw.stream,
    revision: raw.revision,
    type: raw.type,
    action: raw.action,
    key: raw.key,
    tenant: raw.tenant,
    schema,
    data,
    object,
    original,
    principal: raw.meta?.principal,
  };
}
