import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A stable address in front of a server that restarts on another port (as a load balancer
 * would be). Needed because a server restarted on the same port can fail to bind while
 * the old connections sit in TIME_WAIT. `setTarget(null)` drops every connection and
 * refuses new ones (the server is down); `setTarget(port)` lets them through again.
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private target: number | null;
  port = 0;

  private constructor(target: number) {
    this.target = target;
    this.server = createServer((client) => {
      if (this.target === null) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: '127.0.0.1', port: this.target });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  static async start(target: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setTarget(port: number | null): void {
    this.target = port;
    if (port === null) for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.setTarget(null);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
