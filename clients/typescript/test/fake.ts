// An in-memory WebSocket for the unit tests: the client opens it through
// `options.WebSocket`; the test plays the server.

import type { SocketHandler, WebSocketLike } from "@zocket/client";

/** One socket the client opened, driven by the test as the server. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: SocketHandler<unknown> | null = null;
  onmessage: SocketHandler<{ readonly data: unknown }> | null = null;
  onclose: SocketHandler<{ readonly code: number; readonly reason: string }> | null = null;
  onerror: SocketHandler<unknown> | null = null;
  /** The frames the client sent, as text. */
  readonly sent: string[] = [];
  /** How the client closed it, if it did. */
  closedBy: { code: number | undefined } | null = null;
  readonly protocols: string[];

  constructor(
    readonly url: string,
    protocols?: string | string[],
  ) {
    this.protocols = protocols === undefined ? [] : Array.isArray(protocols) ? [...protocols] : [protocols];
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error(`send in readyState ${this.readyState}`);
    this.sent.push(data);
  }

  close(code?: number): void {
    this.closedBy = { code };
    this.readyState = 2;
  }

  // --- The server's side ---

  /** The frames the client sent, parsed. */
  frames(): Record<string, unknown>[] {
    return this.sent.map((text) => JSON.parse(text) as Record<string, unknown>);
  }

  /** The frames sent and not yet taken by an earlier `take()`. */
  #taken = 0;
  take(): Record<string, unknown>[] {
    const frames = this.frames().slice(this.#taken);
    this.#taken = this.sent.length;
    return frames;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }

  /** Opens and sends `__ready`. */
  ready(overrides: Record<string, unknown> = {}): void {
    this.open();
    this.receive({
      type: "__ready",
      payload: {
        clientId: "c1",
        sessionId: "s1",
        protocolVersion: 1,
        recovered: false,
        ...overrides,
      },
    });
  }

  /** The socket ends with `code` (1006: it dropped). */
  end(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** Whether the client still listens to it. */
  get attached(): boolean {
    return this.onmessage !== null;
  }
}

/** A WebSocket constructor whose sockets are collected in `sockets`. */
export function fakeServer(): {
  WebSocket: new (url: string, protocols?: string | string[]) => FakeSocket;
  sockets: FakeSocket[];
  last(): FakeSocket;
} {
  const sockets: FakeSocket[] = [];
  class Socket extends FakeSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  return {
    WebSocket: Socket,
    sockets,
    last() {
      const socket = sockets[sockets.length - 1];
      if (socket === undefined) throw new Error("no socket yet");
      return socket;
    },
  };
}

/** A logger that keeps what it is told. */
export function recordingLogger(): { warn(message: string): void; messages: string[] } {
  const messages: string[] = [];
  return { messages, warn: (message) => void messages.push(message) };
}

/** Lets pending promise callbacks run (setImmediate is not mocked). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** How a promise has settled so far. */
export function track<T>(promise: Promise<T>): { readonly status: "pending" | "resolved" | "rejected"; readonly value: T | undefined; readonly error: unknown } {
  const state: { status: "pending" | "resolved" | "rejected"; value: T | undefined; error: unknown } = {
    status: "pending",
    value: undefined,
    error: undefined,
  };
  promise.then(
    (value) => {
      state.status = "resolved";
      state.value = value;
    },
    (error: unknown) => {
      state.status = "rejected";
      state.error = error;
    },
  );
  return state;
}
