import { foldToChange, readEventPage, type Change, type ProjectionEngine, type ViewState } from '../../projections/index.js';

const LOGS_EXCLUDED: readonly string[] = ['logs'];

/**
 * A pull-based reader of the changes after a position, for one socket's catch-up. Unlike
 * `engine.changesAfter` (which pushes pages as fast as the store reads), it reads the next
 * page only when asked, so a socket that cannot keep up holds at most one page in memory:
 * the store is the buffer (docs/architecture.md "Delivery").
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
    const page = await readEventPage(
      this.engine.store,
      this.includeLogs ? { after: this.cursorValue, limit: this.pageSize } : { after: this.cursorValue, limit: this.pageSize, excludeTypes: LOGS_EXCLUDED },
      target,
    );
    const { events } = page;
    const changes: Change[] = new Array(events.length);
    // fold errors were already reported by the engine when it folded these events live
    for (let i = 0; i < events.length; i++) changes[i] = foldToChange(this.state, events[i]!, this.engine.ownModel);
    this.cursorValue = page.scannedTo;
    return changes;
  }
}
