/**
 * Readiness probes (docs/architecture.md "Actors and leadership"): when is a freshly spawned process ready to serve?
 * `none` at once, `delay` after a while if still alive, `tcp` once its port accepts a
 * connection, `http` once a GET answers 2xx, `notify` once it writes `READY=1` to the
 * descriptor named by `CORRAL_NOTIFY_FD`. Probes poll with a growing interval (100 ms up to
 * 1 s) until ready, until the process exits (the caller cancels), or until `timeoutMs`.
 */
import { connect } from 'node:net';
import { request } from 'node:http';
import type { Readable } from 'node:stream';
import type { ReadinessSpec } from '../../actors/index.js';

export interface ReadinessContext {
  /** the notify pipe (fd 3 in the child), present only for `notify` */
  notifyStream: Readable | null;
  onReady: () => void;
  onTimeout: (message: string) => void;
}

const FIRST_POLL_MS = 100;
const MAX_POLL_MS = 1000;
const ATTEMPT_TIMEOUT_MS = 1000;

/** Starts the probe; returns a function that cancels it (idempotent). */
export function startReadinessProbe(spec: ReadinessSpec, context: ReadinessContext): () => void {
  let done = false;
  const timers = new Set<NodeJS.Timeout>();
  const cancel = (): void => {
    done = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  };
  const after = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!done) fn();
    }, ms);
    timers.add(timer);
  };
  const ready = (): void => {
    if (done) return;
    cancel();
    context.onReady();
  };
  if ('timeoutMs' in spec && spec.timeoutMs !== undefined && spec.timeoutMs > 0) {
    const { timeoutMs } = spec;
    after(timeoutMs, () => {
      cancel();
      context.onTimeout(`readiness probe ${spec.kind} gave up after ${timeoutMs} ms`);
    });
  }

  const poll = (attempt: (onResult: (ok: boolean) => void) => void): void => {
    let interval = FIRST_POLL_MS;
    const once = (): void =>
      attempt((ok) => {
        if (done) return;
        if (ok) return ready();
        after(interval, once);
        interval = Math.min(MAX_POLL_MS, interval * 2);
      });
    once();
  };

  switch (spec.kind) {
    case 'none':
      queueMicrotask(ready);
      break;
    case 'delay':
      after(spec.delayMs, ready);
      break;
    case 'tcp':
      poll((onResult) => probeTcp(spec.host ?? '127.0.0.1', spec.port, onResult));
      break;
    case 'http':
      poll((onResult) => probeHttp(spec.host ?? '127.0.0.1', spec.port, spec.path ?? '/', onResult));
      break;
    case 'notify':
      if (context.notifyStream) watchNotify(context.notifyStream, ready);
      break;
  }
  return cancel;
}

function probeTcp(host: string, port: number, onResult: (ok: boolean) => void): void {
  const socket = connect({ host, port });
  let settled = false;
  const settle = (ok: boolean): void => {
    if (settled) return;
    settled = true;
    socket.destroy();
    onResult(ok);
  };
  socket.setTimeout(ATTEMPT_TIMEOUT_MS, () => settle(false));
  socket.once('connect', () => settle(true));
  socket.once('error', () => settle(false));
}

function probeHttp(host: string, port: number, path: string, onResult: (ok: boolean) => void): void {
  let settled = false;
  const settle = (ok: boolean): void => {
    if (settled) return;
    settled = true;
    onResult(ok);
  };
  const req = request({ host, port, path, method: 'GET', timeout: ATTEMPT_TIMEOUT_MS, agent: false }, (res) => {
    res.resume();
    const status = res.statusCode ?? 0;
    settle(status >= 200 && status < 300);
  });
  req.once('timeout', () => req.destroy());
  req.once('error', () => settle(false));
  req.end();
}

/** sd_notify style: newline-separated `KEY=VALUE` assignments; `READY=1` means ready. */
function watchNotify(stream: Readable, onReady: () => void): void {
  let buffered = '';
  let seen = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    // Keep draining after READY so a chatty process never blocks on a full pipe.
    if (seen) return;
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    if (buffered.length > 4096) buffered = '';
    if (lines.some((line) => line.trim() === 'READY=1')) {
      seen = true;
      onReady();
    }
  });
  stream.on('error', () => {});
}
