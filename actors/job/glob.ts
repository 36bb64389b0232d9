/**
 * Salt's glob targeting uses Python's `fnmatch`: `*` any run of characters, `?` one
 * character, `[seq]` one character in seq (ranges `a-z`), `[!seq]` one character not in seq;
 * a `[` without a closing `]` is a literal `[`.
 *
 * Matching never backtracks: the pattern is split at its stars into fixed-width segments;
 * the first segment is anchored at the start, the last at the end, and each middle segment
 * is matched at its leftmost possible place (leftmost is always safe, because whatever
 * follows a star may start anywhere later). The cost is at most |text| x |pattern| steps,
 * whatever the input, and patterns and names are length-bounded.
 */

type GlobToken =
  | { kind: 'char'; char: string }
  | { kind: 'any' }
  | { kind: 'class'; negated: boolean; chars: string; ranges: [string, string][] };

type Segment = GlobToken[];

export interface CompiledGlob {
  readonly pattern: string;
  matches(text: string): boolean;
}

export interface GlobOptions {
  /** an unclosed `[` is a literal (fnmatch) or an error (positions reported) */
  unclosedBracket?: 'literal' | 'error';
}

export class GlobSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

/** Parses `[...]` starting at `open` (the `[`); returns the token and the index after `]`, or undefined if unclosed. */
function parseClass(pattern: string, open: number): { token: GlobToken; next: number } | undefined {
  let index = open + 1;
  let negated = false;
  if (pattern[index] === '!') {
    negated = true;
    index += 1;
  }
  const contentStart = index;
  // A `]` right after `[` or `[!` belongs to the set, as in fnmatch.
  if (pattern[index] === ']') index += 1;
  while (index < pattern.length && pattern[index] !== ']') index += 1;
  if (index >= pattern.length) return undefined;
  const content = pattern.slice(contentStart, index);
  let chars = '';
  const ranges: [string, string][] = [];
  for (let at = 0; at < content.length; ) {
    const low = content[at] as string;
    if (content[at + 1] === '-' && at + 2 < content.length) {
      const high = content[at + 2] as string;
      // fnmatch drops reversed ranges (they match nothing)
      if (low <= high) ranges.push([low, high]);
      at += 3;
    } else {
      chars += low;
      at += 1;
    }
  }
  return { token: { kind: 'class', negated, chars, ranges }, next: index + 1 };
}

function tokenMatches(token: GlobToken, char: string): boolean {
  switch (token.kind) {
    case 'char':
      return token.char === char;
    case 'any':
      return true;
    case 'class': {
      let inside = token.chars.includes(char);
      for (let i = 0; !inside && i < token.ranges.length; i += 1) {
        const [low, high] = token.ranges[i] as [string, string];
        inside = char >= low && char <= high;
      }
      return inside !== token.negated;
    }
  }
}

function segmentMatchesAt(segment: Segment, text: string, at: number): boolean {
  for (let i = 0; i < segment.length; i += 1) {
    if (!tokenMatches(segment[i] as GlobToken, text[at + i] as string)) return false;
  }
  return true;
}

export function compileGlob(pattern: string, { unclosedBracket = 'literal' }: GlobOptions = {}): CompiledGlob {
  // Segments between stars; `hasStar` distinguishes "abc" (exact) from "abc*".
  const segments: Segment[] = [[]];
  for (let index = 0; index < pattern.length; ) {
    const char = pattern[index] as string;
    if (char === '*') {
      // consecutive stars are one star
      if ((segments[segments.length - 1] as Segment).length > 0 || segments.length === 1) segments.push([]);
      index += 1;
      continue;
    }
    const current = segments[segments.length - 1] as Segment;
    if (char === '?') {
      current.push({ kind: 'any' });
      index += 1;
    } else if (char === '[') {
      const parsed = parseClass(pattern, index);
      if (parsed === undefined) {
        if (unclosedBracket === 'error') throw new GlobSyntaxError(`unclosed '[' at position ${index}`, index);
        current.push({ kind: 'char', char });
        index += 1;
      } else {
        current.push(parsed.token);
        index = parsed.next;
      }
    } else {
      current.push({ kind: 'char', char });
      index += 1;
    }
  }
  const hasStar = segments.length > 1;
  const first = segments[0] as Segment;
  const last = hasStar ? (segments[segments.length - 1] as Segment) : first;
  const middle = hasStar ? segments.slice(1, -1) : [];
  const minimumLength = segments.reduce((sum, segment) => sum + segment.length, 0);

  const matches = (text: string): boolean => {
    if (!hasStar) return text.length === first.length && segmentMatchesAt(first, text, 0);
    if (text.length < minimumLength) return false;
    if (!segmentMatchesAt(first, text, 0)) return false;
    const tailStart = text.length - last.length;
    if (!segmentMatchesAt(last, text, tailStart)) return false;
    let at = first.length;
    for (const segment of middle) {
      let found = -1;
      for (let start = at; start + segment.length <= tailStart; start += 1) {
        if (segmentMatchesAt(segment, text, start)) {
          found = start;
          break;
        }
      }
      if (found === -1) return false;
      at = found + segment.length;
    }
    return true;
  };
  return { pattern, matches };
}
