import type { FieldOp, FilterAst, JsonValue, Specifier } from './ast.js';
import { ANY, FIELD_OPS } from './ast.js';
import { FILTER_LIMITS, FilterSyntaxError } from './errors.js';
import { splitField } from './field-path.js';
import { setMember } from './json-value.js';
import { compilePattern, isPatternError } from './regex.js';

/**
 * Recursive descent over the whole text, so every error position is an index into what the
 * caller gave us. Each character is looked at a bounded number of times, the text and the
 * nesting are capped, and every failure is a FilterSyntaxError: hostile input is cheap.
 *
 * Whitespace (space, tab, CR, LF) is allowed between the tokens of a filter; none is allowed
 * in a specifier's `type.action.key` part.
 */

/** Parses `type.action.key` or `type.action.key.filter`. */
export function parseSpecifier(text: string): Specifier {
  const parser = new Parser(text, 'specifier');
  return parser.specifier();
}

/** Parses a filter term (as used by `?filter=` and the native `filter` field). */
export function parseFilter(text: string): FilterAst {
  const parser = new Parser(text, 'filter');
  return parser.wholeFilter();
}

const OPEN = 0x28; // (
const CLOSE = 0x29; // )
const COMMA = 0x2c; // ,
const DOT = 0x2e; // .
const EQUALS = 0x3d; // =
const QUOTE = 0x22; // "
const STAR = 0x2a; // *

const isWhitespace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** Names in type/action/key lists: letters, digits and `_ - : @ $ / + ~` (never `.` or `,`). */
const isNameChar = (c: number) =>
  isLetter(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x3a || c === 0x40 || c === 0x24 || c === 0x2f || c === 0x2b || c === 0x7e;

/** A field ends at a character the term grammar uses, whitespace, a quote, or a control. */
const isFieldChar = (c: number) =>
  c > 0x20 && c !== EQUALS && c !== OPEN && c !== CLOSE && c !== COMMA && c !== QUOTE && c !== 0x7f;

const OPERATORS = `an operator (${FIELD_OPS.join(', ')})`;

class Parser {
  private pos = 0;
  private readonly length: number;

  constructor(
    private readonly text: string,
    private kind: 'filter' | 'specifier',
  ) {
    this.length = text.length;
    if (this.length > FILTER_LIMITS.maxTextLength) {
      this.fail(`at most ${FILTER_LIMITS.maxTextLength} characters`, FILTER_LIMITS.maxTextLength, 'more');
    }
  }

  specifier(): Specifier {
    const types = this.nameList('type');
    this.expectChar(DOT, "'.' after the type list");
    const actions = this.nameList('action');
    this.expectChar(DOT, "'.' after the action list");
    const keys = this.nameList('key');
    if (this.pos === this.length) return { types, actions, keys, filter: null };
    this.expectChar(DOT, "',', '.' (before a filter) or the end of the specifier");
    this.kind = 'filter';
    return { types, actions, keys, filter: this.wholeFilter() };
  }

  wholeFilter(): FilterAst {
    const term = this.term(1);
    this.skipWhitespace();
    if (this.pos !== this.length) this.fail('the end of the filter');
    return term;
  }

  private nameList(what: string): string[] {
    const { text } = this;
    if (text.charCodeAt(this.pos) === STAR) {
      this.pos++;
      if (this.pos < this.length && text.charCodeAt(this.pos) !== DOT) this.fail(`'.' after '*' (a wildcard stands alone, not in a ${what} list)`);
      return [ANY];
    }
    const names: string[] = [];
    for (;;) {
      const start = this.pos;
      while (this.pos < this.length && isNameChar(text.charCodeAt(this.pos))) this.pos++;
      if (this.pos === start) this.fail(names.length === 0 ? `a ${what} name or '*'` : `a ${what} name`);
      if (names.length === FILTER_LIMITS.maxListItems) this.fail(`at most ${FILTER_LIMITS.maxListItems} names in the ${what} list`, start);
      names.push(text.slice(start, this.pos));
      if (text.charCodeAt(this.pos) !== COMMA) return names;
      this.pos++;
    }
  }

  private term(depth: number): FilterAst {
    this.skipWhitespace();
    const start = this.pos;
    if (depth > FILTER_LIMITS.maxDepth) this.fail(`at most ${FILTER_LIMITS.maxDepth} nested terms`);
    const { text } = this;
    while (this.pos < this.length && isFieldChar(text.charCodeAt(this.pos))) this.pos++;
    const word = text.slice(start, this.pos);
    if (word.length === 0) this.fail('a filter term (And(...), Or(...), Not(...) or field=Op(...))');
    if (text.charCodeAt(this.pos) === OPEN) {
      if (word === 'And' || word === 'Or') {
        this.pos++;
        const terms: FilterAst[] = [];
        for (;;) {
          if (terms.length === FILTER_LIMITS.maxListItems) this.fail(`at most ${FILTER_LIMITS.maxListItems} terms in ${word}`);
          terms.push(this.term(depth + 1));
          if (this.listContinues(`',' or ')' closing ${word}(`)) continue;
          return { op: word, terms };
        }
      }
      if (word === 'Not') {
        this.pos++;
        const term = this.term(depth + 1);
        this.skipWhitespace();
        this.expectChar(CLOSE, "')' closing Not( (it takes one term)");
        return { op: 'Not', term };
      }
      this.fail(`'=' and an operator after the field "${word}" (the combinators are And, Or and Not)`);
    }
    const field = this.field(word, start);
    this.skipWhitespace();
    this.expectChar(EQUALS, `'=' after the field "${field}"`);
    this.skipWhitespace();
    const opStart = this.pos;
    while (this.pos < this.length && isLetter(text.charCodeAt(this.pos))) this.pos++;
    const op = text.slice(opStart, this.pos) as FieldOp;
    if (!FIELD_OPS.includes(op)) this.fail(OPERATORS, opStart);
    this.skipWhitespace();
    this.expectChar(OPEN, `'(' after ${op}`);
    this.skipWhitespace();
    return this.operands(op, field);
  }

  private operands(op: FieldOp, field: string): FilterAst {
    switch (op) {
      case 'Exists':
        this.expectChar(CLOSE, "')' (Exists takes no value)");
        return { op, field };
      case 'Eq':
      case 'Ne': {
        const value = this.value(0);
        this.skipWhitespace();
        this.expectChar(CLOSE, `')' (${op} takes one value)`);
        return { op, field, value };
      }
      case 'Re': {
        if (this.text.charCodeAt(this.pos) !== QUOTE) this.fail('a JSON string holding the regular expression');
        const patternStart = this.pos;
        const pattern = this.string();
        this.checkPattern(pattern, patternStart);
        this.skipWhitespace();
        this.expectChar(CLOSE, "')' (Re takes one pattern)");
        return { op, field, pattern };
      }
      case 'In':
      case 'Nin': {
        const values: JsonValue[] = [];
        for (;;) {
          if (values.length === FILTER_LIMITS.maxListItems) this.fail(`at most ${FILTER_LIMITS.maxListItems} values in ${op}`);
          values.push(this.value(0));
          if (this.listContinues(`',' or ')' closing ${op}(`)) {
            this.skipWhitespace();
            continue;
          }
          return { op, field, values };
        }
      }
      case 'Changed': {
        // Changed(), Changed(from), Changed(from,to), Changed(,to): an empty slot is unspecified.
        const ast: FilterAst = { op, field };
        const c = this.text.charCodeAt(this.pos);
        if (c !== CLOSE && c !== COMMA) ast.from = this.value(0);
        this.skipWhitespace();
        if (this.text.charCodeAt(this.pos) === COMMA) {
          this.pos++;
          this.skipWhitespace();
          if (this.text.charCodeAt(this.pos) !== CLOSE) ast.to = this.value(0);
          this.skipWhitespace();
        }
        this.expectChar(CLOSE, "')' (Changed takes at most a from and a to value)");
        return ast;
      }
    }
  }

  /** After a list item: consumes ',' (true) or ')' (false), else fails. */
  private listContinues(expected: string): boolean {
    this.skipWhitespace();
    const c = this.text.charCodeAt(this.pos);
    if (c === COMMA || c === CLOSE) {
      this.pos++;
      return c === COMMA;
    }
    return this.fail(expected);
  }

  private field(word: string, start: number): string {
    const segments = splitField(word);
    if (!Array.isArray(segments)) this.fail(segments.expected, start + segments.offset);
    return word;
  }

  private checkPattern(pattern: string, quoteAt: number): void {
    try {
      compilePattern(pattern);
    } catch (error) {
      if (!isPatternError(error)) throw error;
      // Point into the pattern when the JSON string has no escapes (offsets then line up).
      const raw = this.text.slice(quoteAt + 1, this.pos - 1);
      const at = error.offset !== null && raw === pattern ? quoteAt + 1 + error.offset : quoteAt;
      this.fail(`a valid RE2 regular expression (${error.reason})`, at, 'an invalid pattern');
    }
  }

  // --- JSON values -------------------------------------------------------------------------

  private value(depth: number): JsonValue {
    const c = this.text.charCodeAt(this.pos);
    if (c === QUOTE) return this.string();
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth >= FILTER_LIMITS.maxDepth) this.fail(`at most ${FILTER_LIMITS.maxDepth} nested JSON arrays and objects`);
      return c === 0x7b ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c === 0x2d /* - */ || isDigit(c)) return this.number();
    if (this.text.startsWith('true', this.pos)) return this.literal(4, true);
    if (this.text.startsWith('false', this.pos)) return this.literal(5, false);
    if (this.text.startsWith('null', this.pos)) return this.literal(4, null);
    return this.fail('a JSON value (strings need double quotes)');
  }

  private literal<T>(length: number, value: T): T {
    this.pos += length;
    return value;
  }

  private number(): number {
    const { text } = this;
    const start = this.pos;
    if (text.charCodeAt(this.pos) === 0x2d) this.pos++;
    if (text.charCodeAt(this.pos) === 0x30) this.pos++;
    else this.digits();
    if (text.charCodeAt(this.pos) === DOT) {
      this.pos++;
      this.digits();
    }
    const e = text.charCodeAt(this.pos);
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      const sign = text.charCodeAt(this.pos);
      if (sign === 0x2b || sign === 0x2d) this.pos++;
      this.digits();
    }
    const value = Number(text.slice(start, this.pos));
    if (!Number.isFinite(value)) this.fail('a number within the range of a double', start);
    return value === 0 ? 0 : value; // -0 prints as 0: keep the round trip exact
  }

  private digits(): void {
    const start = this.pos;
    while (isDigit(this.text.charCodeAt(this.pos))) this.pos++;
    if (this.pos === start) this.fail('a digit');
  }

  private string(): string {
    const { text } = this;
    const start = this.pos;
    this.pos++;
    let escaped = false;
    for (;;) {
      if (this.pos >= this.length) this.fail('\'"\' closing the string');
      const c = text.charCodeAt(this.pos);
      if (c === QUOTE) break;
      if (c < 0x20) this.fail('an escape sequence instead of a control character in a string');
      if (c === 0x5c /* \ */) {
        escaped = true;
        const e = text[this.pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(this.pos + 2, this.pos + 6))) this.fail('four hex digits after \\u', this.pos + 2);
          this.pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail('an escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)', this.pos + 1);
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    this.pos++;
    // Validated above, so JSON.parse only decodes the escapes.
    return escaped ? (JSON.parse(text.slice(start, this.pos)) as string) : text.slice(start + 1, this.pos - 1);
  }

  private array(depth: number): JsonValue[] {
    this.pos++;
    const items: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return items;
    }
    for (;;) {
      this.skipWhitespace();
      items.push(this.value(depth));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c === 0x5d) return items;
      if (c !== COMMA) this.fail("',' or ']' in a JSON array", this.pos - 1);
    }
  }

  private object(depth: number): Record<string, JsonValue> {
    this.pos++;
    const members: Record<string, JsonValue> = {};
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return members;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== QUOTE) this.fail('a member name (a JSON string)');
      const name = this.string();
      this.skipWhitespace();
      this.expectChar(0x3a, "':' after a member name");
      this.skipWhitespace();
      setMember(members, name, this.value(depth));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c === 0x7d) return members;
      if (c !== COMMA) this.fail("',' or '}' in a JSON object", this.pos - 1);
    }
  }

  // --- helpers -----------------------------------------------------------------------------

  private skipWhitespace(): void {
    while (this.pos < this.length && isWhitespace(this.text.charCodeAt(this.pos))) this.pos++;
  }

  private expectChar(c: number, expected: string): void {
    if (this.text.charCodeAt(this.pos) !== c) this.fail(expected);
    this.pos++;
  }

  private fail(expected: string, at = this.pos, found?: string): never {
    throw new FilterSyntaxError(this.kind, this.text, Math.min(at, this.length), expected, found);
  }
}
