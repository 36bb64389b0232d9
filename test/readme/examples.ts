/**
 * Reading README.md's fenced code blocks and checking an example's output against the
 * expected lines it shows. The convention (README "How the examples are tested"):
 *
 * - ```sh blocks are run; their trailing comment lines `#> text` are the expected output.
 * - ```js blocks are run in a browser; their trailing `//> text` lines are expected logs.
 * - The block right after the HTML comment `<!-- readme-test: NAME -->` is named NAME
 *   (`server-config`: the YAML the test server starts with).
 * - `console`, `text` and `yaml` blocks are never run. Any other tag is an error, so a
 *   block cannot silently escape the test by being tagged `bash` or `shell`.
 */

export const RUN_TAGS = ['sh', 'js'] as const;
export const SHOW_TAGS = ['console', 'text', 'yaml'] as const;

export interface CodeBlock {
  tag: string;
  /** the block's text, without the fences */
  code: string;
  /** 1-based line of the opening fence in README.md */
  line: number;
  /** the nearest `#`/`##`/`###` heading above the block */
  heading: string;
  /** from a `<!-- readme-test: NAME -->` comment on the line(s) just above the fence */
  marker: string | null;
  /** the trailing `#> ` (sh) or `//> ` (js) lines, without the prefix */
  expected: string[];
}

const FENCE_OPEN = /^```([A-Za-z0-9_-]*)\s*$/;
const FENCE_CLOSE = /^```\s*$/;
const MARKER = /^<!--\s*readme-test:\s*([a-z0-9-]+)\s*-->$/;

export function parseCodeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  let heading = '';
  let pendingMarker: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const headingMatch = /^#{1,6}\s+(.*)$/.exec(line);
    if (headingMatch) heading = headingMatch[1]!.trim();
    const marker = MARKER.exec(line.trim());
    if (marker) {
      pendingMarker = marker[1]!;
      continue;
    }
    const open = FENCE_OPEN.exec(line);
    if (!open) {
      if (line.trim() !== '') pendingMarker = null;
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !FENCE_CLOSE.test(lines[i]!); i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`README.md:${start + 1}: code block is never closed`);
    const tag = open[1]!;
    blocks.push({ tag, code: body.join('\n'), line: start + 1, heading, marker: pendingMarker, expected: expectedLines(tag, body) });
    pendingMarker = null;
  }
  return blocks;
}

/** The trailing run of expectation comments of a runnable block. */
function expectedLines(tag: string, body: string[]): string[] {
  const prefix = tag === 'sh' ? '#> ' : tag === 'js' ? '//> ' : null;
  if (!prefix) return [];
  const expected: string[] = [];
  for (let j = body.length - 1; j >= 0 && body[j]!.startsWith(prefix); j--) expected.unshift(body[j]!.slice(prefix.length).trim());
  return expected;
}

/**
 * One expected line as a regular expression: literal text where `...` matches anything
 * within one output line.
 */
function expectationPattern(expected: string): RegExp {
  const parts = expected.split('...').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(parts.join('[^\\n]*?'), 'g');
}

/**
 * Checks that every expected line occurs in `output`, in order (each after the end of the
 * previous match). Returns null when all do, else a message naming the first that does not.
 */
export function checkExpectedOutput(output: string, expected: string[]): string | null {
  let cursor = 0;
  for (const line of expected) {
    const pattern = expectationPattern(line);
    pattern.lastIndex = cursor;
    const match = pattern.exec(output);
    if (!match) {
      const seen = output.length > 4000 ? `${output.slice(0, 2000)}\n[...]\n${output.slice(-2000)}` : output;
      return `expected output line not found${cursor > 0 ? ' after the previous expected line' : ''}: ${JSON.stringify(line)}\n--- output ---\n${seen}`;
    }
    cursor = match.index + match[0].length;
  }
  return null;
}

/** A short name for a block in test titles: `Run a job: corral jobs run ... (README.md:190)`. */
export function describeBlock(block: CodeBlock): string {
  const first = block.code.split('\n').find((line) => line.trim() !== '' && !line.startsWith('#') && !line.startsWith('//')) ?? '';
  const short = first.length > 70 ? `${first.slice(0, 67)}...` : first;
  return `${block.heading}: ${short.trim()} (README.md:${block.line})`;
}
