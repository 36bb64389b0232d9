import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MinionReport, MinionReportSink } from '../../actors/index.js';
import { createMinionHub, type MinionHub } from '../../gateway/minion/index.js';
import { closeListenSocket, createApp, listenSocketPort, type ListenSocket } from '../../gateway/uws.js';
import { MinionAgent } from '../../ops/minion/index.js';
import { lineWriterScript, nodeSpawn, waitFor } from './helpers.js';

/** Counts lines per run and checks their numbering, like a log stream store would see them. */
class CountingSink implements MinionReportSink {
  lines = new Map<string, { count: number; inOrder: boolean }>();
  exited = new Set<string>();
  reportDelayMs = 0;
  async minionConnected() {}
  async minionDisconnected() {}
  async report(_minion: string, report: MinionReport) {
    if (this.reportDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.reportDelayMs));
    if (report.kind === 'exited') this.exited.add(report.runId);
    if (report.kind !== 'output') return;
    const seen = this.lines.get(report.runId) ?? { count: 0, inOrder: true };
    for (const { line } of report.lines) {
      if (line !== `line ${seen.count} of the output stream`) seen.inOrder = false;
      seen.count += 1;
    }
    this.lines.set(report.runId, seen);
  }
}


let sink: CountingSink;
let hub: MinionHub;
let listenSocket: ListenSocket;
let agent: MinionAgent;
beforeAll(async () => {
  sink = new CountingSink();
  hub = createMinionHub({ sink, verifyToken: async () => ({ subject: 't', tenants: ['acme'] }) });
  const app = createApp();
  hub.attach(app);
  listenSocket = await new Promise<ListenSocket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(socket) : reject(new Error('listen failed')))),
  );
  agent = new MinionAgent({ server: `http://127.0.0.1:${listenSocketPort(listenSocket)}`, token: 't', id: 'loud', tenants: ['acme'] }).start();
  await agent.waitConnected();
});
afterAll(async () => {
  await agent.shutdown({ flushMs: 0 });
  hub.close();
  closeListenSocket(listenSocket);
});

describe('output through minion -> websocket -> hub -> sink', () => {
  it('50,000 lines/s for 3 s: every line arrives, in order; the loop stays responsive', async () => {
    const command = nodeSpawn(lineWriterScript(50_000, 3));
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    const started = Date.now();
    hub.port.send('loud', command);
    await waitFor(() => sink.exited.has(command.runId), 'exited', 60_000);
    histogram.disable();
    expect(sink.lines.get(command.runId)).toEqual({ count: 150_000, inOrder: true });
    await waitFor(() => agent.outbox.pending === 0, 'all acked');
    console.log(
      `minion->hub 50k lines/s: 150000 lines in ${Date.now() - started} ms; event loop delay p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms, max ${(histogram.max / 1e6).toFixed(1)} ms`,
    );
    expect(histogram.max / 1e6).toBeLessThan(1000);
  });

  it('a slow sink slows the writer down (backpressure) but loses nothing', async () => {
    sink.reportDelayMs = 20; // ~50 reports/s per ordering key at most
    const command = nodeSpawn(lineWriterScript(50_000, 1));
    hub.port.send('loud', command);
    await waitFor(() => sink.exited.has(command.runId), 'exited', 60_000);
    expect(sink.lines.get(command.runId)).toEqual({ count: 50_000, inOrder: true });
    sink.reportDelayMs = 0;
  });
});
