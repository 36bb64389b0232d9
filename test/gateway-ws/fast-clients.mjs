// A load of websocket clients in their own process (so their CPU is not the server's).
// Usage: node fast-clients.mjs <ws url> <count> <select>
// stdin:  "target <pos>"  -> stdout "reached <pos> <events per client min> <events max> <clients lagged>" once every client saw pos
// Events are counted rather than bytes: on this shared 2-core machine a "fast" client can
// itself pass the buffer bound, and its lossless catch-up then frames the same events
// differently (plus `lagged`/`live` frames).
// stdout: "ready" once every client is subscribed.
import WebSocket from 'ws';
import { createInterface } from 'node:readline';

const [url, countText, select] = process.argv.slice(2);
const count = Number(countText);
const POS = Buffer.from('"pos":');
const EVENT = Buffer.from('"op":"event"');
const LAGGED = Buffer.from('"op":"lagged"');

function occurrences(buffer, needle) {
  let n = 0;
  for (let at = buffer.indexOf(needle); at >= 0; at = buffer.indexOf(needle, at + needle.length)) n++;
  return n;
}
const clients = [];

function lastPosition(buffer) {
  const at = buffer.lastIndexOf(POS);
  if (at < 0) return -1;
  let value = 0;
  for (let i = at + POS.length; i < buffer.length; i++) {
    const digit = buffer[i] - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  return value;
}

let target = Infinity;
function checkTarget() {
  if (target === Infinity) return;
  for (const client of clients) if (client.last < target) return;
  const events = clients.map((c) => c.events);
  const lagged = clients.filter((c) => c.lagged > 0).length;
  process.stdout.write(`reached ${target} ${Math.min(...events)} ${Math.max(...events)} ${lagged}\n`);
  target = Infinity;
}

await Promise.all(
  Array.from({ length: count }, (_, index) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const client = { ws, last: 0, events: 0, lagged: 0, subscribed: false };
      clients.push(client);
      ws.on('open', () => ws.send(JSON.stringify({ op: 'sub', id: 'fast', select, batch: true })));
      ws.on('message', (data) => {
        if (!client.subscribed) {
          const text = data.toString();
          if (text.includes('"op":"subscribed"')) {
            client.subscribed = true;
            resolve();
            return;
          }
          if (text.includes('"op":"error"')) reject(new Error(text));
        }
        client.events += occurrences(data, EVENT);
        client.lagged += occurrences(data, LAGGED);
        const pos = lastPosition(data);
        if (pos > client.last) client.last = pos;
        if (pos >= target) checkTarget();
      });
      ws.on('error', reject);
      ws.on('close', (code) => {
        if (!client.subscribed) reject(new Error(`client ${index} closed ${code}`));
      });
    }),
  ),
);
process.stdout.write('ready\n');

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, value] = line.trim().split(' ');
  if (command === 'target') {
    target = Number(value);
    checkTarget();
  } else if (command === 'exit') {
    for (const client of clients) client.ws.terminate();
    process.exit(0);
  }
});
