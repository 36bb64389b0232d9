// A child process for the two-processes-one-directory test. It subscribes to all events from
// position 0, waits for "go" on stdin, appends its share (to two shared streams with `any`
// and to its own stream with exact expected revisions), then waits until its subscription
// has seen `total` events and prints them as one JSON line: {"label", "seen": ["pos:id", ...]}.
// Usage: node dist/store/testing/two-process-writer.js <dataDir> <label> <count> <total>
import { openEmbeddedStore } from '../embedded/index.js';
import type { RecordedEvent } from '../types.js';

const [dataDir, label, countArg, totalArg] = process.argv.slice(2);
if (!dataDir || !label || !countArg || !totalArg) {
  process.stderr.write('usage: two-process-writer <dataDir> <label> <count> <total>\n');
  process.exit(2);
}
const count = Number(countArg);
const total = Number(totalArg);
const store = await openEmbeddedStore({ dataDir });
const seen: RecordedEvent[] = [];
let resolveAll: () => void = () => undefined;
const allSeen = new Promise<void>((resolve) => (resolveAll = resolve));
const subscription = store.subscribeToAll({ after: 0 }).subscribe({
  next: (notice) => {
    if (notice.kind !== 'events') return;
    seen.push(...notice.events);
    if (seen.length >= total) resolveAll();
  },
  error: (error: unknown) => {
    process.stderr.write(`subscription failed: ${String(error)}\n`);
    process.exit(1);
  },
});
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
// let the process exit once done: an open stdin would keep it alive
process.stdin.destroy();

let ownRevision = -1;
let written = 0;
const appends: Promise<unknown>[] = [];
for (let batch = 0; written < count; batch++) {
  const size = Math.min(count - written, [1, 5, 20][batch % 3]!);
  const events = Array.from({ length: size }, (_, i) => ({ type: 'processes', action: 'stats', key: label, data: { label, n: written + i } }));
  written += size;
  if (batch % 4 === 3) {
    // the own stream is written by this process only, so exact expectations never conflict
    const result = await store.append(`own-${label}`, events, { expectedRevision: ownRevision === -1 ? 'noStream' : ownRevision });
    ownRevision = result.lastRevision;
  } else {
    appends.push(store.append(batch % 2 === 0 ? 'shared-a' : 'shared-b', events));
    if (appends.length >= 8) await Promise.all(appends.splice(0));
  }
}
await Promise.all(appends);
await allSeen;
subscription.unsubscribe();
process.stdout.write(`${JSON.stringify({ label, seen: seen.map((e) => `${e.position}:${e.id}`) })}\n`);
await store.close();
