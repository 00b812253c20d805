/**
 * The types of the client's API: routes and events, options, states,
 * sessions, and the minimal WebSocket it runs on.
 *
 * @module
 */

import type { CallError, ErrorCode } from "./errors.js";

/** One route of an API: whether it is a call, a message or a stream, its input, output and error codes. */
export interface RouteSpec {
  /**
   * `"call"` (an `rpcId`, exactly one reply), `"message"` (no `rpcId`, no
   * reply) or `"stream"` (an `rpcId`, any number of items, then one reply).
   */
  kind: "call" | "message" | "stream";
  /** The input type; `void` for a route without input. */
  input: unknown;
  /** The output type of a call; for a stream, the type of each item. */
  output: unknown;
  /** The error codes a call (or a stream) may fail with. */
  error: string;
}

/**
 * The routes of an API by name. Used as a constraint `R extends Routes<R>`
 * so that interfaces (which have no index signature) qualify; `Routes`
 * alone is `Record<string, RouteSpec>`, the routes of an untyped client.
 */
export type Routes<R = Record<string, RouteSpec>> = { [K in keyof R]: RouteSpec };

/**
 * The events of an API by name, with their payloads. Used as a constraint
 * `E extends Events<E>` (interfaces qualify); `Events` alone is
 * `Record<string, unknown>`.
 */
export type Events<E = Record<string, unknown>> = { [K in keyof E]: unknown };

/** Stops a listener; calling it again does nothing. */
export type Unsubscribe = () => void;

/** The options of one call. */
export interface CallOptions {
  /** How long to wait for the reply, in ms (the client's `timeout` by default); the call then fails with `TIMEOUT`. */
  timeout?: number;
  /** Aborting it fails the call with `CANCELLED` and forgets it (the server may still run it). */
  signal?: AbortSignal;
}

/**
 * The arguments after the route of a call with input `I`: the input (which
 * may be left out when `I` is `void`) and the options.
 */
export type CallArgs<I> = [I] extends [void]
  ? [input?: I, options?: CallOptions]
  : [input: I, options?: CallOptions];

/** The options of one stream. */
export interface StreamOptions {
  /**
   * How many items the server may send ahead of the application (16): the
   * client grants this credit when it opens the stream, and again each
   * time the application has taken half of it (or sooner, when it waits
   * for an item with none buffered after taking some). An integer >= 1 (the
   * server caps it at its `max_stream_window`, 256 by default).
   */
  window?: number;
  /**
   * Aborting it cancels the stream: a `__cancel` goes to the server, and
   * the iteration throws a `CANCELLED` {@link CallError}. Streams have no
   * timeout: pass a signal (`AbortSignal.timeout(ms)`) to bound one.
   */
  signal?: AbortSignal;
}

/**
 * The arguments after the route of a stream with input `I`: the input
 * (which may be left out when `I` is `void`) and the options.
 */
export type StreamArgs<I> = [I] extends [void]
  ? [input?: I, options?: StreamOptions]
  : [input: I, options?: StreamOptions];

/**
 * The items of one stream call, in order, each once (across reconnections
 * on a recovered session), read with `for await`:
 *
 * ```ts
 * const run = api.jobs.run({ steps: 10 });
 * try {
 *   for await (const progress of run) show(progress.percent);
 * } catch (error) {
 *   if (run.error?.code === "BUSY") retryLater();
 *   else throw error;
 * }
 * ```
 *
 * The loop ends when the server's reply comes after the last item
 * (`__rpc_res`), or throws the stream's {@link CallError} (code `C`): the
 * server's error reply, `CANCELLED` (the `signal` aborted),
 * `CONNECTION_LOST` (the connection dropped and a fresh session began, or
 * the reconnection attempts ran out), `QUEUE_FULL` or `CLOSED`. Items
 * received before the end are delivered first, except after an abort.
 *
 * Breaking out of the loop (or `return()` on its iterator) and
 * {@link ZocketStream.cancel} cancel the stream on the server
 * (`__cancel`); the loop then ends without an error. Items that arrive
 * before the application iterates wait in the stream, at most `window` of
 * them (the server sends no more than the credit granted). A stream can be
 * iterated once.
 *
 * @typeParam T - The item type.
 * @typeParam C - The codes the stream may fail with.
 */
export interface ZocketStream<T, C extends string = ErrorCode> extends AsyncIterable<T> {
  /**
   * The iterator over the items; a `TypeError` the second time (a stream
   * can be iterated once).
   */
  [Symbol.asyncIterator](): AsyncIterator<T, void, undefined>;
  /**
   * Cancels the stream: a `__cancel` goes to the server (at once when
   * connected, else when the session is resumed), the items not yet taken
   * are dropped, and the iteration ends without an error. Once the stream
   * has ended, it drops the items not yet taken, and the iteration ends
   * without an error ({@link error} keeps the end's).
   */
  cancel(): void;
  /**
   * The error the stream ended with (the one its iteration throws), known
   * as soon as the end comes, before the buffered items are taken; `null`
   * while it runs, after a normal end and after {@link cancel}.
   */
  readonly error: CallError<C> | null;
}

/**
 * A stream route as a function: opens the stream (leave `input` out when
 * `I` is `void`), and returns its {@link ZocketStream} at once. Throws a
 * `TypeError` for a `window` that is not an integer >= 1 or an input that
 * cannot be serialized to JSON.
 */
export type StreamMethod<I, T, C extends string> = (...args: StreamArgs<I>) => ZocketStream<T, C>;

/**
 * The names of the routes of `R` that may be streams: those declared with
 * kind `"stream"` (every route of an untyped client).
 */
export type StreamRoute<R extends Routes<R>> = {
  [K in keyof R & string]: "stream" extends R[K]["kind"] ? K : never;
}[keyof R & string];

/**
 * What `method()` returns for route spec `S` called as kind `M`: a
 * {@link MessageMethod}, a {@link StreamMethod} or (for a call, or a kind
 * the types cannot tell) a {@link CallMethod}.
 */
export type RouteMethod<S extends RouteSpec, M extends RouteSpec["kind"] = S["kind"]> = [M] extends ["message"]
  ? MessageMethod<S["input"]>
  : [M] extends ["stream"]
    ? StreamMethod<S["input"], S["output"], S["error"]>
    : CallMethod<S["input"], S["output"], S["error"]>;

/** The arguments after the route of a message with input `I` (left out when `I` is `void`). */
export type MessageArgs<I> = [I] extends [void] ? [input?: I] : [input: I];

/** The outcome of {@link CallMethod.result}: the output, or the call's error. */
export type CallResult<O, C extends string> =
  | { readonly ok: true; readonly value: O }
  | { readonly ok: false; readonly error: CallError<C> };

/**
 * A call route as a function: resolves with the output, rejects with a
 * {@link CallError} whose code is one of `C`.
 */
export interface CallMethod<I, O, C extends string> {
  /** Calls the route (leave `input` out when `I` is `void`); rejects with a {@link CallError} (code `C`). */
  (input: I, options?: CallOptions): Promise<O>;
  /** Calls the route; never rejects for a call error, which comes as `{ ok: false, error }`. */
  result(input: I, options?: CallOptions): Promise<CallResult<O, C>>;
}

/**
 * A message route as a function: resolves once the frame is written to a
 * connected socket (no reply comes); rejects with a {@link CallError}
 * (`QUEUE_FULL`, `CLOSED`, `CONNECTION_LOST`).
 */
export type MessageMethod<I> = (input: I) => Promise<void>;

/** Subscribes `listener` to one event; returns the function that unsubscribes it. */
export type Subscribe<T> = (listener: EventListener<T>) => Unsubscribe;

/**
 * What an event listener receives: the payload, and for an ephemeral event
 * (one the definition declares with `when_full`), in `info.dropped`, how
 * many of its kind the server dropped for this client before this one
 * (0 when none were; always 0 for other events).
 */
export type EventListener<T> = (payload: T, info: EventInfo) => void;

/** Details of one delivered event (see {@link EventListener}). */
export interface EventInfo {
  /** Events of this kind the server dropped for this client since the last one delivered. */
  readonly dropped: number;
}

/**
 * Where a client is in its lifecycle, discriminated by `status`:
 *
 * ```text
 * connecting ─► connected ─► disconnected ─► reconnecting{attempt} ─► connecting ─► connected
 *     │              │             ▲                                       │
 *     │              │             └───────────────────────────────────────┘ (attempt failed)
 *     └──────────────┴──► failed (refused, protocol version, schema, attempts exhausted)
 * connected ─► disconnected ─► closed   (the server closed on purpose: 1000, 1008, 4xxx...)
 * any state ─► closed                   (close())
 * ```
 *
 * `failed` and `closed` are final, but `close()` on a failed client makes it
 * `closed`.
 */
export type ConnectionState =
  | {
      /** A socket is being opened, until its `__ready`. */
      readonly status: "connecting";
    }
  | {
      /** Connected, `__ready` received, in-flight calls resent and the offline queue sent. */
      readonly status: "connected";
      /**
       * Whether the server resumed the previous session (its missed events
       * replayed, in-flight calls answered). `false` on a fresh session:
       * the application should resynchronise.
       */
      readonly recovered: boolean;
      /** This connection's client id (public). */
      readonly clientId: string;
    }
  | {
      /** A socket ended; `reconnecting`, `failed` or `closed` comes next. */
      readonly status: "disconnected";
      /** Its close code (`1006` when it dropped, timed out or went silent). */
      readonly code: number;
      /** Its close reason. */
      readonly reason: string;
    }
  | {
      /** Waiting `delay` ms before reconnection attempt `attempt` of `maxAttempts`. */
      readonly status: "reconnecting";
      /** This attempt's number, from 1. */
      readonly attempt: number;
      /** How many attempts are made before `failed`. */
      readonly maxAttempts: number;
      /** The delay before this attempt, in ms. */
      readonly delay: number;
    }
  | {
      /** Gone for good, with the reason. */
      readonly status: "failed";
      /** A `RefusedError`, `SchemaMismatchError`, `ProtocolVersionError`, `ConnectionLostError` (or the last `RefusedError` of a retried 4503/4429), or the error of a `WebSocket` that could not be made. */
      readonly error: Error;
    }
  | {
      /** Closed by `close()` or by the server on purpose. Final. */
      readonly status: "closed";
    };

/**
 * A session to resume: its id (a secret: the proof of ownership) and the
 * `seq` of the last event received.
 */
export interface Session {
  /** The session id from `__ready`. */
  readonly sessionId: string;
  /** The highest event `seq` received in the session (0 before any). */
  readonly lastSeq: number;
}

/**
 * Where a client keeps its session so that another client (after a page
 * reload, say) resumes it: loaded once at construction, saved at each
 * `__ready` and each time `lastSeq` advances, cleared when the client ends
 * up `closed` (by `close()` or by the server) or its handshake is refused.
 * A `failed` client (attempts exhausted) keeps it: the server may still
 * hold the session for a while. See `sessionStore()` for one over
 * `sessionStorage`.
 */
export interface SessionStore {
  /** The saved session, or `null`. */
  load(): Session | null;
  /** Saves `session`, replacing any other. */
  save(session: Session): void;
  /** Forgets the saved session. */
  clear(): void;
}

/** Where the client reports what it cannot throw: `__error` frames, listener exceptions, schema mismatches. */
export interface Logger {
  /** Reports one problem. */
  warn(message: string): void;
}

/** The reconnection policy. */
export interface ReconnectOptions {
  /** Attempts after a drop before `failed` (5); `Infinity` never gives up. Reset by each `__ready`. */
  maxAttempts?: number;
  /** The delay before the first attempt, in ms (1000); it doubles each attempt. */
  baseDelay?: number;
  /** The cap on delays, in ms (30 000). */
  maxDelay?: number;
  /** Each delay is multiplied by a random factor in `[1 - jitter, 1 + jitter]`, then capped at `maxDelay` (0.3). */
  jitter?: number;
}

/** A handler property of {@link WebSocketLike}, checked bivariantly so that DOM and `ws` sockets fit. */
export type SocketHandler<E> = { bivarianceHack(event: E): void }["bivarianceHack"];

/**
 * The part of the WHATWG `WebSocket` the client uses: browsers', Node's
 * (22+, or 20 with `--experimental-websocket`), Deno's, Bun's and the `ws`
 * package's all fit.
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Called once open. */
  onopen: SocketHandler<unknown> | null;
  /** Called with each message; `data` is a string for text frames. */
  onmessage: SocketHandler<{ readonly data: unknown }> | null;
  /** Called once closed, with the close code and reason. */
  onclose: SocketHandler<{ readonly code: number; readonly reason: string }> | null;
  /** Called on an error (a close follows). */
  onerror: SocketHandler<unknown> | null;
  /** Sends one text frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
}

/** A `WebSocket` constructor: `new WebSocket(url, protocols)`. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * How a client connects.
 *
 * @typeParam H - The handshake headers: a flat object of strings, numbers,
 *   booleans (and `null`/`undefined`, left out).
 */
export interface ClientOptions<H> {
  /** The server's WebSocket URL, `ws://` or `wss://`. Sent as it is: headers and session never go in it. */
  url: string;
  /** The handshake headers, sent as the `zocket.headers.<base64url JSON>` subprotocol entry. */
  headers: H;
  /** The `WebSocket` constructor (`globalThis.WebSocket` by default). */
  WebSocket?: WebSocketConstructor;
  /** The default call timeout, in ms (30 000); streams have none. */
  timeout?: number;
  /** How long opening a socket may take, up to its `__ready`, in ms (30 000); it then counts as a failed attempt. */
  connectTimeout?: number;
  /** The reconnection policy, or `false` to never reconnect (a drop is then `failed`). */
  reconnect?: false | ReconnectOptions;
  /** How many frames (calls, messages, stream openings) wait while not connected (1024); past it they fail with `QUEUE_FULL`. */
  offlineQueue?: number;
  /**
   * The liveness window, in ms (45 000), or `false`: after `liveness / 3`
   * with no frame received the client sends `__ping`; with no frame at all
   * within `liveness` the link counts as dead, and the client reconnects at
   * once. The silent socket is abandoned, and closed (`1000`) only once the
   * next connection is ready: a close frame that reached the server would
   * end the session the reconnection resumes.
   */
  liveness?: number | false;
  /** Where the session is kept across clients (see `sessionStore()`); none by default. */
  session?: SessionStore;
  /** What a `__ready.schemaHash` other than the client's `schemaHash` does: `"warn"` (default) logs, `"refuse"` fails with `SchemaMismatchError`. */
  schemaCheck?: "warn" | "refuse";
  /** Where warnings go (`console` by default). */
  logger?: Logger;
  /** A source of uniform numbers in `[0, 1)` for the backoff jitter (`Math.random` by default). */
  random?: () => number;
}
