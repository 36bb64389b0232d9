import { InvalidArgumentError } from '../../store/index.js';

/** Bounds that keep hostile input cheap: every parse is linear in a text of bounded size. */
export const FILTER_LIMITS = {
  /** characters in a specifier or a filter */
  maxTextLength: 4096,
  /** nesting of And/Or/Not, and separately of JSON arrays/objects inside a value */
  maxDepth: 32,
  /** names in a type/action/key list, terms in And/Or, values in In/Nin */
  maxListItems: 256,
  /** characters in one `Re` pattern */
  maxPatternLength: 1024,
  /** RE2 program size of one `Re` pattern: matching costs O(input length × program size) */
  maxPatternProgramSize: 1000,
} as const;

const SNIPPET_BEFORE = 30;
const SNIPPET_AFTER = 10;

/**
 * A specifier or filter that does not parse. `position` is the 0-based character index in the
 * text handed to the parser (for a whole specifier, an index into the whole specifier), and
 * `expected` says what would have been accepted there.
 */
export class FilterSyntaxError extends InvalidArgumentError {
  readonly position: number;
  readonly expected: string;

  constructor(kind: 'filter' | 'specifier', text: string, position: number, expected: string, found?: string) {
    const seen = found ?? describeFound(text, position);
    super(`${kind}: expected ${expected} at character ${position}, found ${seen}: ${snippet(text, position)}`, {
      position,
      expected,
    });
    this.position = position;
    this.expected = expected;
  }
}

export const isFilterSyntaxError = (error: unknown): error is FilterSyntaxError => error instanceof FilterSyntaxError;

function describeFound(text: string, position: number): string {
  if (position >= text.length) return 'the end of the text';
  return JSON.stringify(text[position]!);
}

/** Up to 30 characters before the error, a `^` marker, and a few after; controls blanked. */
function snippet(text: string, position: number): string {
  const from = Math.max(0, position - SNIPPET_BEFORE);
  const to = Math.min(text.length, position + SNIPPET_AFTER);
  const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return (
    (from > 0 ? '...' : '') +
    clean(text.slice(from, position)) +
    '^' +
    clean(text.slice(position, to)) +
    (to < text.length ? '...' : '')
  );
}
