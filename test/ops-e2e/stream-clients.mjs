// Streaming websocket clients in their own process (their CPU is not the test runner's):
// each subscribes on the native /ws from a position, checks that positions only grow (a
// repeat or a step back is a violation), and on any close (1012 during a rolling restart)
// reconnects to the same URL and resumes from the last position it saw, as DESIGN.md §9
// tells clients to. It keeps, per client, an order-independent digest of every position
// received up to a position (count, sum, sum of a 32-bit mix) for the test to compare
// with the store.
//
// Usage: node stream-clients.mjs <ws url> <count> <select> <from position>
// stdout: "ready" once every client is subscribed; "reached <P>" once every client saw P
// stdin:  "target <P>", "report <P>" (-> one JSON line "report [...]"), "exit"
import WebSocket from 'ws';
import { createInterface } from 'node:readline';

const [url, countText, select, fromText] = process.argv.slice(2);
const count = Number(countText);
const startFrom = Number(fromText);

const mix = (x) => {
  let h = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
};

const clients = [];
let target = Infinity;

function checkTarget() {
  if (target === Infinity) return;
  for (const client of clients) if (client.last < target) return;
  process.stdout.write(`reached ${target}\n`);
  target = Infinity;
}

function connect(client, onSubscribed) {
  const ws = new WebSocket(url, 'corral.v1.json', { perMessageDeflate: false });
  client.ws = ws;
  client.subscribed = false;
  ws.on('open', () => ws.send(JSON.stringify({ op: 'sub', id: 's', select, from: client.last, batch: true })));
  ws.on('message', (data) => {
    let parsed;
    try {
      parsed = JSON.parse(data.toString());
    } catch {
      client.errors.push(`unparsable frame: ${data.toString().slice(0, 80)}`);
      return;
    }
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
      if (message.op === 'event') {
        if (!(message.pos > client.last)) client.violations.push(`pos ${message.pos} after ${client.last}`);
        else {
          client.positions.push(message.pos);
          client.last = message.pos;
        }
      } else if (message.op === 'subscribed') {
        client.subscribed = true;
        client.subscriptions++;
        onSubscribed?.();
        onSubscribed = undefined;
      } else if (message.op === 'error') {
        client.errors.push(JSON.stringify(message).slice(0, 200));
      } else if (message.op === 'lagged') {
        client.lagged++;
      }
    }
    if (client.last >= target) checkTarget();
  });
  ws.on('error', (error) => client.socketErrors.push(error.message));
  ws.on('close', (code) => {
    client.closes[code] = (client.closes[code] ?? 0) + 1;
    if (stopping) return;
    // Resume at once (the shared port already reaches the successor); back off only if refused.
    const delay = client.subscribed ? 0 : Math.min(1000, 20 * 2 ** Math.min(client.failedConnects++, 6));
    if (client.subscribed) client.failedConnects = 0;
    setTimeout(() => connect(client), delay);
  });
}

let stopping = false;
await Promise.all(
  Array.from(
    { length: count },
    () =>
      new Promise((resolve) => {
        const client = { ws: null, last: startFrom, positions: [], violations: [], errors: [], socketErrors: [], closes: {}, subscriptions: 0, lagged: 0, failedConnects: 0, subscribed: false };
        clients.push(client);
        connect(client, resolve);
      }),
  ),
);
process.stdout.write('ready\n');

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, value] = line.trim().split(' ');
  if (command === 'target') {
    target = Number(value);
    checkTarget();
  } else if (command === 'report') {
    // digests of the positions up to `value` (later ones arrived after the compared head)
    const upTo = Number(value);
    const report = clients.map(({ last, positions, violations, errors, socketErrors, closes, subscriptions, lagged }) => {
      let count = 0;
      let sum = 0;
      let hash = 0;
      for (const pos of positions) {
        if (pos > upTo) break;
        count++;
        sum += pos;
        hash = (hash + mix(pos)) >>> 0;
      }
      return {
        last,
        count,
        sum,
        hash,
        violations: violations.slice(0, 5),
        violationCount: violations.length,
        errors: errors.slice(0, 5),
        socketErrors: socketErrors.length,
        closes,
        subscriptions,
        lagged,
      };
    });
    process.stdout.write(`report ${JSON.stringify(report)}\n`);
  } else if (command === 'exit') {
    stopping = true;
    for (const client of clients) client.ws?.terminate();
    process.exit(0);
  }
});
