// The gateway benchmark's load generator: a separate process holding every subscriber
// socket, so the server's CPU is not shared with the clients'. It reports its own CPU
// use, so a saturated generator is visible in the results.
//
// argv[2]: JSON ClientPlan. stdin: "reset", "report", "exit". stdout: one JSON line per
// reply ({"ready":true} once every client is subscribed).
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

export interface ClientPlan {
  peer: 'corral' | 'uws' | 'ws' | 'nats';
  /** base URL; client i of group g connects to `url(g)` */
  urls: string[];
  count: number;
  groups: number;
  /** corral: the token; the others ignore it */
  token?: string;
}

interface ClientState {
  group: number;
  events: number;
  frames: number;
}

const plan = JSON.parse(process.argv[2]!) as ClientPlan;
const EVENT_MARK = Buffer.from(plan.peer === 'nats' ? 'MSG ' : '{"op":"event"');
const TIME_MARK = Buffer.from('"t":');
const clients: ClientState[] = [];
const latencies: number[] = [];
const MAX_SAMPLES = 200_000;
let sampleEvery = 1;
let frameCounter = 0;

const now = (): number => performance.timeOrigin + performance.now();

function countMarks(buffer: Buffer, mark: Buffer): number {
  let n = 0;
  for (let at = buffer.indexOf(mark); at !== -1; at = buffer.indexOf(mark, at + mark.length)) n++;
  return n;
}

/** The append time of the frame's last event (data.t), for latency. */
function lastTime(buffer: Buffer): number {
  const at = buffer.lastIndexOf(TIME_MARK);
  if (at < 0) return NaN;
  let end = at + TIME_MARK.length;
  while (end < buffer.length && ((buffer[end]! >= 48 && buffer[end]! <= 57) || buffer[end] === 46)) end++;
  return Number(buffer.toString('latin1', at + TIME_MARK.length, end));
}

function onFrame(client: ClientState, data: Buffer): void {
  const events = countMarks(data, EVENT_MARK);
  if (events === 0) {
    if (plan.peer === 'nats' && data.includes('PING')) return; // answered below
    return;
  }
  client.events += events;
  client.frames++;
  if (++frameCounter % sampleEvery === 0 && latencies.length < MAX_SAMPLES) {
    const t = lastTime(data);
    if (!Number.isNaN(t)) latencies.push(now() - t);
  }
}

function connect(index: number): Promise<void> {
  const group = index % plan.groups;
  const client: ClientState = { group, events: 0, frames: 0 };
  clients.push(client);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(plan.urls[group]!, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    let ready = false;
    ws.on('open', () => {
      if (plan.peer === 'corral') ws.send(JSON.stringify({ op: 'sub', id: 'b', select: `logs.line.bench:g${group}:0`, batch: true }));
      else if (plan.peer === 'nats') ws.send(`CONNECT {"verbose":false,"pedantic":false,"protocol":1,"echo":false}\r\nSUB bench.g${group}.> 1\r\nPING\r\n`);
      else {
        ready = true;
        resolve();
      }
    });
    ws.on('message', (raw: Buffer) => {
      if (!ready) {
        const text = raw.toString();
        if (text.includes('"op":"subscribed"') || text.includes('PONG')) {
          ready = true;
          resolve();
          return;
        }
        if (text.includes('"op":"error"') || text.includes('-ERR')) reject(new Error(text));
        return;
      }
      if (plan.peer === 'nats' && raw.length < 16 && raw.toString().startsWith('PING')) {
        ws.send('PONG\r\n');
        return;
      }
      onFrame(client, raw);
    });
    ws.on('error', reject);
  });
}

const reply = (message: object): void => void process.stdout.write(`${JSON.stringify(message)}\n`);

// Connect in waves so the servers' accept queues are not overrun.
for (let i = 0; i < plan.count; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, plan.count - i) }, (_, j) => connect(i + j)));
}
reply({ ready: true });

let cpuAt = process.cpuUsage();
let wallAt = performance.now();
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, argument] = line.trim().split(' ');
  if (command === 'reset') {
    for (const client of clients) {
      client.events = 0;
      client.frames = 0;
    }
    latencies.length = 0;
    sampleEvery = Math.max(1, Number(argument ?? 1));
    cpuAt = process.cpuUsage();
    wallAt = performance.now();
    reply({ reset: true });
  } else if (command === 'report') {
    const cpu = process.cpuUsage(cpuAt);
    const wallMs = performance.now() - wallAt;
    let events = 0;
    let frames = 0;
    let minEvents = Infinity;
    for (const client of clients) {
      events += client.events;
      frames += client.frames;
      minEvents = Math.min(minEvents, client.events);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const pick = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
    reply({ events, frames, minEvents, samples: sorted.length, p50Ms: pick(0.5), p99Ms: pick(0.99), cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100 });
  } else if (command === 'exit') {
    process.exit(0);
  }
});
