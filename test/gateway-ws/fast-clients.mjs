// A load of websocket clients in their own process (so their CPU is not the server's).
// Usage: node fast-clients.mjs <ws url> <count> <select>
// stdin:  "target <pos>"  -> stdout "reached <pos> <bytes per client min> <bytes max>" once every client saw pos
// stdout: "ready" once every client is subscribed.
import WebSocket from 'ws';
import { createInterface } from 'node:readline';

const [url, countText, select] = process.argv.slice(2);
const count = Number(countText);
const POS = Buffer.from('"pos":');
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
  const bytes = clients.map((c) => c.bytes);
  process.stdout.write(`reached ${target} ${Math.min(...bytes)} ${Math.max(...bytes)}\n`);
  target = Infinity;
}

await Promise.all(
  Array.from({ length: count }, (_, index) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const client = { ws, last: 0, bytes: 0, subscribed: false };
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
        client.bytes += data.length;
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
