// A fault-injecting TCP proxy for the end-to-end tests (the model is the
// Rust one, tests/support/proxy.rs): it listens on 127.0.0.1, forwards each
// connection to the upstream port both ways, and can cut every open
// connection at once (a network drop: no close frame, the client sees
// 1006) or stall the traffic in one direction or both until healed.

import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import type { TestContext } from "node:test";

/** Which way a stall holds bytes: client to server (`up`), server to client (`down`), or both. */
export type Direction = "up" | "down" | "both";

/** One proxied connection: the client's socket and the one to the server. */
interface Pair {
  client: Socket;
  upstream: Socket;
  /** Resumes reading where a stall or back-pressure paused it. */
  flow(): void;
}

export class Proxy {
  readonly #server: Server;
  readonly #upstreamPort: number;
  readonly #pairs = new Set<Pair>();
  #stalled = { up: false, down: false };
  /** Connections accepted so far. */
  accepted = 0;
  /** `__pong` frames forwarded from the server so far (its frames are unmasked). */
  pongs = 0;
  readonly #pongWaiters: { count: number; resolve: () => void }[] = [];

  /** Resolves once `count` `__pong` frames have been forwarded in all. */
  pongsForwarded(count: number): Promise<void> {
    if (this.pongs >= count) return Promise.resolve();
    return new Promise((resolve) => this.#pongWaiters.push({ count, resolve }));
  }

  #sawPongs(chunk: Buffer): void {
    const marker = '{"type":"__pong"}';
    for (let at = chunk.indexOf(marker); at !== -1; at = chunk.indexOf(marker, at + 1)) this.pongs += 1;
    for (const waiter of [...this.#pongWaiters]) {
      if (this.pongs >= waiter.count) {
        this.#pongWaiters.splice(this.#pongWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
  /** Connections cut by {@link cut}. */
  cutCount = 0;

  private constructor(server: Server, upstreamPort: number) {
    this.#server = server;
    this.#upstreamPort = upstreamPort;
    server.on("connection", (client) => this.#accept(client));
  }

  /** A proxy on a free port of 127.0.0.1 to `upstreamPort`, closed when `t` ends. */
  static async start(t: TestContext, upstreamPort: number): Promise<Proxy> {
    const server = createServer();
    const proxy = new Proxy(server, upstreamPort);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    t.after(() => proxy.close());
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** `ws://127.0.0.1:<port>/ws`. */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** `http://127.0.0.1:<port>` (the chat page, through the proxy). */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** How many connections are open now. */
  get open(): number {
    return this.#pairs.size;
  }

  /**
   * Drops every open connection at once, both ways, with a TCP reset: the
   * bytes not yet forwarded are lost, neither side gets a close frame.
   * Returns how many were cut.
   */
  cut(): number {
    const pairs = [...this.#pairs];
    this.#pairs.clear();
    for (const pair of pairs) {
      reset(pair.client);
      reset(pair.upstream);
    }
    this.cutCount += pairs.length;
    return pairs.length;
  }

  /** Holds the bytes going `direction` (in the kernel's buffers: nothing is read) until {@link heal}. */
  stall(direction: Direction = "both"): void {
    if (direction !== "down") this.#stalled.up = true;
    if (direction !== "up") this.#stalled.down = true;
    for (const pair of this.#pairs) {
      if (this.#stalled.up) pair.client.pause();
      if (this.#stalled.down) pair.upstream.pause();
    }
  }

  /** Forwards everything again, the held bytes first. */
  heal(): void {
    this.#stalled = { up: false, down: false };
    for (const pair of this.#pairs) pair.flow();
  }

  /** Stops accepting and cuts every connection. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.accepted += 1;
    client.setNoDelay(true);
    const upstream = connect({ host: "127.0.0.1", port: this.#upstreamPort });
    upstream.setNoDelay(true);
    const pair: Pair = {
      client,
      upstream,
      flow: () => {
        if (!this.#stalled.up && upstream.writableNeedDrain === false) client.resume();
        if (!this.#stalled.down && client.writableNeedDrain === false) upstream.resume();
      },
    };
    this.#pairs.add(pair);
    if (this.#stalled.up) client.pause();
    if (this.#stalled.down) upstream.pause();
    const forward = (from: Socket, to: Socket, stalled: () => boolean): void => {
      from.on("data", (chunk: Buffer) => {
        if (to.destroyed) return;
        if (from === upstream) this.#sawPongs(chunk);
        // Back-pressure: stop reading until the other side drains.
        if (!to.write(chunk)) from.pause();
      });
      to.on("drain", () => {
        if (!stalled() && this.#pairs.has(pair)) from.resume();
      });
      from.on("end", () => to.end());
    };
    forward(client, upstream, () => this.#stalled.up);
    forward(upstream, client, () => this.#stalled.down);
    const drop = (): void => {
      if (!this.#pairs.delete(pair)) return;
      reset(client);
      reset(upstream);
    };
    // The server is unreachable (restarting, say), or one side failed:
    // the other sees its connection reset, as on a real network.
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", () => {
      this.#pairs.delete(pair);
      if (!upstream.destroyed) upstream.end();
    });
    upstream.on("close", () => {
      this.#pairs.delete(pair);
      if (!client.destroyed) client.end();
    });
  }
}

/**
 * Destroys `socket` with a TCP reset (RST), as a dropped network would
 * look to a peer. A socket whose writing side was already ended is only
 * destroyed: on Node 20, `end()` then `resetAndDestroy()` leaves a request
 * that never completes, and the process spins at 100% CPU at exit
 * (`Environment::CleanupHandles`) instead of exiting.
 */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
