/**
 * What an actor's machine folds: a recorded event reduced to what deciding needs.
 * `type` is the event's action (`spawn`, `exit`, ...): each actor kind has one stream type.
 */
export type DomainEventOf<E extends { action: string; data: unknown }> = E extends unknown
  ? { type: E['action']; data: E['data']; time: number }
  : never;
