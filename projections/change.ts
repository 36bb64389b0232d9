/**
 * A change: one event together with the view object it produced. This is what projections
 * emit, what the filter language evaluates, and what the gateway streams to clients.
 *
 * `object` is the view object after the event, `original` the one before it (null when the
 * event created the object, or for types that have no view, such as `logs`, where `object`
 * carries the event's data with its `key`). `Changed(from,to)` compares the two.
 */
export interface Change {
  position: number;
  /** ms epoch of the event */
  time: number;
  id: string;
  stream: string;
  revision: number;
  type: string;
  action: string;
  key: string;
  tenant?: string;
  schema: number;
  data: unknown;
  object: Record<string, unknown> | null;
  original: Record<string, unknown> | null;
  principal?: string;
  /**
   * Never stored (`processes.stats`, `connections.*`): `position` is only that of the last
   * stored event, so it identifies nothing (README, the native protocol).
   */
  ephemeral?: true;
}
