/**
 * The client: one WebSocket at a time to a zocket server, calls matched to
 * their replies by `rpcId`, events to their listeners, and the lifecycle
 * (reconnection with backoff, session recovery, the offline queue,
 * liveness).
 *
 * @module
 */
import type { CallArgs, ClientOptions, ConnectionState, EventListener, Events, MessageArgs, RouteMethod, Routes, Session, StreamArgs, StreamRoute, Subscribe, Unsubscribe, ZocketStream } from "./types.js";
/**
 * A connection to a zocket server that keeps itself connected: the typed
 * client a generated module (`createChatClient`) builds, or an untyped one
 * (`new ZocketClient({ url, headers })`, any route and event by name).
 *
 * The client opens its socket at once (`connecting`), then:
 *
 * - **Handshake.** The headers travel as the `zocket.headers.<base64url
 *   JSON>` subprotocol entry beside `zocket.v1` and `zocket.refusals`, and
 *   a session to resume as `zocket.session.<id>` and `zocket.last-seq.<n>`:
 *   the URL is used as it is, so no secret ends up in an access log. A
 *   close with a `4xxx` code before `__ready` is a refusal: `failed` with a
 *   {@link RefusedError}, not retried, except `4503` and `4429`, retried
 *   like a lost connection.
 * - **Reconnection.** A connection that drops (no close frame, or `1001`,
 *   `1011`, `1012`, `1013`, `1014`), times out or goes silent (see
 *   `liveness`) gives `disconnected`, then `reconnecting` for each attempt,
 *   with a delay of `min(maxDelay, baseDelay * 2^(attempt-1))` times a
 *   random factor in `[1 - jitter, 1 + jitter]`, capped at `maxDelay`, then
 *   `connecting`. After `maxAttempts` failed attempts: `failed` with a
 *   {@link ConnectionLostError}. The count starts again after each
 *   `__ready`. A close the server makes on purpose after `__ready`
 *   (`1000`, `1008`, `1009`, the application's `4xxx`...) gives
 *   `disconnected` with its code and reason, then `closed`.
 * - **Recovery.** Each reconnection offers the session id and the highest
 *   event `seq` received. On `recovered: true` every call in flight is sent
 *   again with the same `rpcId` (the server answers it exactly once) and
 *   the missed events are replayed in order; an event whose `seq` was
 *   already received is dropped, so each listener sees each event once.
 *   On `recovered: false` (a fresh session: the server no longer held the
 *   old one) `lastSeq` starts again from 0 and, as the Rust client does,
 *   the calls that were in flight fail with `CONNECTION_LOST` (the server
 *   may or may not have run them; they are not sent again, since the new
 *   session cannot tell a resend from a new call); calls still in the
 *   offline queue were never sent and are sent on the new session.
 * - **Streams** ({@link stream}) are calls answered with items, then one
 *   reply: their open frame is queued, resent and failed like a call's
 *   (without a timeout), followed each time by the stream's latest credit
 *   grant; the items received are acknowledged once the reply has come.
 *   On a recovered session the items the server replays are
 *   delivered once (by their number `n`), and a stream cancelled while
 *   disconnected is cancelled on the server then.
 * - **Offline queue.** Calls and messages made while not connected wait, up
 *   to `offlineQueue` frames (past it they fail at once with `QUEUE_FULL`),
 *   and are sent in order once connected, after the resent calls. Calls
 *   keep their timeout meanwhile.
 * - **End.** `failed` (final) fails every waiting call and queued message
 *   with `CONNECTION_LOST`; `closed` (final, after {@link close} or a
 *   deliberate close by the server) with `CLOSED`. Later calls fail at
 *   once with `CLOSED`.
 *
 * @typeParam H - The handshake headers.
 * @typeParam R - The routes by name (see {@link Routes}).
 * @typeParam E - The events by name, with their payloads.
 */
export declare class ZocketClient<H = Record<string, unknown>, R extends Routes<R> = Routes, E extends Events<E> = Events> {
    #private;
    /**
     * Checks the options (a `TypeError` for nonsense: an URL that is not
     * `ws://` or `wss://`, a negative delay, a jitter outside `[0, 1]`,
     * nested header values...), loads the saved session if a store is given,
     * and opens the first connection.
     *
     * @param options - How to connect; `schemaHash` is the hash of the API
     *   the client was generated from, compared with `__ready.schemaHash`.
     */
    constructor(options: ClientOptions<H> & {
        schemaHash?: string;
    });
    /** The current state (see {@link ConnectionState}). */
    get state(): ConnectionState;
    /** This connection's client id (public), from the latest `__ready`; `null` before the first. */
    get clientId(): string | null;
    /**
     * The session: its id (a secret) and the highest event `seq` received;
     * `null` before the first `__ready` (unless one was loaded from the
     * session store).
     */
    get session(): Session | null;
    /**
     * Calls `listener` with every state change, in order, from now on (read
     * {@link state} for the current one). A listener that throws is reported
     * to the logger and does not stop the others.
     */
    onState(listener: (state: ConnectionState) => void): Unsubscribe;
    /**
     * Resolves once the client is `connected`: at once if it is, else at the
     * next `connected`. Rejects when it ends first: with the `failed` state's
     * error, or a `CLOSED` {@link CallError}.
     */
    ready(): Promise<void>;
    /**
     * Calls `route` with `input` (left out for a route without input) and
     * resolves with the reply's payload, or rejects with a {@link CallError}:
     * the server's error reply, `TIMEOUT` (no reply within `options.timeout`
     * or the client's `timeout`: the reply, if it comes, is ignored),
     * `CANCELLED` (`options.signal` aborted; a call already sent is then
     * cancelled on the server too, with a `__cancel` frame, as on a timeout),
     * `QUEUE_FULL`,
     * `CONNECTION_LOST` or `CLOSED`. An input that cannot be serialized to
     * JSON rejects with the `TypeError` of `JSON.stringify`.
     *
     * Sent at once when connected, else queued (see the class). A call in
     * flight when the connection drops is sent again with its `rpcId` when
     * the session is recovered; it fails with `CONNECTION_LOST` when a fresh
     * session begins instead.
     */
    call<K extends keyof R & string>(route: K, ...args: CallArgs<R[K]["input"]>): Promise<R[K]["output"]>;
    /**
     * Sends the message `route` with `input` (no `rpcId`: the server sends
     * no reply; its errors go to the logger as `__error` frames). Resolves
     * once the frame is written to a connected socket; while not connected
     * it waits in the offline queue. Rejects with a {@link CallError}:
     * `QUEUE_FULL` (at once), `CONNECTION_LOST` (the client failed before it
     * was sent) or `CLOSED`.
     */
    send<K extends keyof R & string>(route: K, ...args: MessageArgs<R[K]["input"]>): Promise<void>;
    /**
     * Listens to event `event`: `listener` gets the payload of each one, in
     * the order the server sent them, across reconnections (each event once
     * on a recovered session). A listener that throws is reported to the
     * logger; the client and the other listeners go on.
     */
    on<K extends keyof E & string>(event: K, listener: EventListener<E[K]>): Unsubscribe;
    /**
     * Opens the stream `route` with `input` (left out for a route without
     * input): a call answered with any number of items, then one reply. The
     * returned {@link ZocketStream} yields the items in order with
     * `for await`, ends with the reply, and throws its {@link CallError}
     * when the stream fails (the server's error, `CANCELLED` when
     * `options.signal` aborts, `QUEUE_FULL`, `CONNECTION_LOST`, `CLOSED`).
     * Breaking out of the loop or {@link ZocketStream.cancel} cancels it on
     * the server (`__cancel`).
     *
     * The client grants the server `options.window` items of credit (16)
     * right after the open frame, and again each time the application has
     * taken half of it, or sooner when the application waits for an item
     * with none buffered after taking some (the server may stop short of
     * half the window). Once the reply has come, the items received are
     * acknowledged (a grant of window 0), so that the server forgets them.
     * Streams have no timeout. Opened while not connected,
     * the stream waits in the offline queue like a call; in flight when the
     * connection drops, it goes on once the session is recovered (the items
     * replayed by the server are delivered once), and fails with
     * `CONNECTION_LOST` when a fresh session begins instead.
     *
     * @throws TypeError for a route that is not a string, a `window` that is
     *   not an integer >= 1, or an input that cannot be serialized to JSON.
     */
    stream<K extends keyof R & StreamRoute<R>>(route: K, ...args: StreamArgs<R[K]["input"]>): ZocketStream<R[K]["output"], R[K]["error"]>;
    /**
     * Route `route` as a function: a {@link CallMethod} for a call (with
     * `.result()`, which resolves with `{ ok: false, error }` instead of
     * rejecting), a {@link MessageMethod} for a message, a
     * {@link StreamMethod} for a stream.
     *
     * The kind is only known to the types: pass `kind` `"message"` (as a
     * generated client does for message routes) to send frames without
     * `rpcId`, and `"stream"` (required for a stream route) to open streams.
     * Without it, a message route is called with an `rpcId`, which a zocket
     * server answers with `null`, so it still works but waits for that
     * acknowledgement.
     */
    method<K extends keyof R & string, M extends R[K]["kind"] = R[K]["kind"]>(route: K, ...kind: [R[K]["kind"]] extends ["stream"] ? [kind: M] : [kind?: M]): RouteMethod<R[K], M>;
    /** Event `event` as a subscription function: `subscriber("chat.message")(listener)` is `on("chat.message", listener)`. */
    subscriber<K extends keyof E & string>(event: K): Subscribe<E[K]>;
    /**
     * Closes the client for good, from any state (a `failed` client too):
     * with code `1000` if a socket is open (without waiting for the close
     * handshake), stopping any reconnection. The state becomes `closed`;
     * waiting calls and queued messages fail with `CLOSED`, and so do later
     * ones; the saved session is cleared. Closing a closed client does
     * nothing.
     */
    close(): void;
}
