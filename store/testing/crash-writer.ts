// A child process for the crash-safety test: appends continuously to several streams with a
// mix of batch sizes and prints one line per acknowledged append:
//   ack <stream> <firstPosition> <count> <lastRevision> <writer> <seq>
// The parent SIGKILLs it at a random moment and checks that every acknowledged event survived.
// Usage: node dist/store/testing/crash-writer.js <dataDir> [writers]
import { openEmbeddedStore } from '../embedded/index.js';
import { crashEventData } from './crash-data.js';

const [dataDir, writersArg] = process.argv.slice(2);
if (!dataDir) {
  process.stderr.write('usage: crash-writer <dataDir> [writers]\n');
  process.exit(2);
}
const writers = Number(writersArg ?? 4);
const store = await openEmbeddedStore({ dataDir });
process.stdout.write('ready\n');

async function writer(w: number): Promise<never> {
  for (let seq = 0; ; seq++) {
    const stream = `crash-s${(w + seq) % 5}`;
    const count = [1, 1, 3, 10, 50][(seq * 7 + w) % 5]!;
    const events = Array.from({ length: count }, (_, i) => ({ type: 'jobs', action: 'return', key: `w${w}`, data: crashEventData(w, seq, i) }));
    const result = await store.append(stream, events);
    // stdout to a pipe is synchronous on Linux: the line is in the pipe before the next append starts
    process.stdout.write(`ack ${stream} ${result.positions[0]} ${count} ${result.lastRevision} ${w} ${seq}\n`);
  }
}

await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
