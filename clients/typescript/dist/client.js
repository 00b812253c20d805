/**
 * The client: one WebSocket at a time to a zocket server, calls matched to
 * their replies by `rpcId`, events to their listeners, and the lifecycle
 * (reconnection with backoff, session recovery, the offline queue,
 * liveness).
 *
 * @module
 */
import { CallError, ConnectionLostError, PROTOCOL_VERSION, ProtocolVersionError, RefusedError, SchemaMismatchError, } from "./errors.js";
import { backoffDelay, isRetriedRefusal, isSession, isWorthReconnecting, rpcIdPrefix, settings, subprotocols, } from "./internal.js";
import { Stream } from "./stream.js";
const PING = '{"type":"__ping"}';
/** The credit a stream grants by default, in items. */
const DEFAULT_WINDOW = 16;
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
export class ZocketClient {
    #s;
    #prefix = rpcIdPrefix();
    #counter = 0;
    #state = { status: "connecting" };
    #stateListeners = new Set();
    #listeners = new Map();
    #pending = new Map();
    /** Streams in flight given up on while not connected: `__cancel`led once the session is resumed. */
    #cancelOnResume = new Set();
    #queue = [];
    #ws = null;
    /** Open sockets given up on, closed once the next one is ready (see `#drop`). */
    #abandoned = [];
    /** Whether `#ws` has sent its `__ready`. */
    #live = false;
    #attempt = 0;
    #sessionId = null;
    #lastSeq = 0;
    #clientId = null;
    #connectTimer;
    #retryTimer;
    #livenessTimer;
    /**
     * Checks the options (a `TypeError` for nonsense: an URL that is not
     * `ws://` or `wss://`, a negative delay, a jitter outside `[0, 1]`,
     * nested header values...), loads the saved session if a store is given,
     * and opens the first connection.
     *
     * @param options - How to connect; `schemaHash` is the hash of the API
     *   the client was generated from, compared with `__ready.schemaHash`.
     */
    constructor(options) {
        this.#s = settings(options);
        const store = this.#s.session;
        if (store !== null) {
            let saved = null;
            try {
                saved = store.load();
            }
            catch (error) {
                this.#warn(`zocket: could not load the saved session: ${String(error)}`);
            }
            if (isSession(saved)) {
                this.#sessionId = saved.sessionId;
                this.#lastSeq = saved.lastSeq;
            }
        }
        this.#open();
    }
    /** The current state (see {@link ConnectionState}). */
    get state() {
        return this.#state;
    }
    /** This connection's client id (public), from the latest `__ready`; `null` before the first. */
    get clientId() {
        return this.#clientId;
    }
    /**
     * The session: its id (a secret) and the highest event `seq` received;
     * `null` before the first `__ready` (unless one was loaded from the
     * session store).
     */
    get session() {
        return this.#sessionId === null ? null : { sessionId: this.#sessionId, lastSeq: this.#lastSeq };
    }
    /**
     * Calls `listener` with every state change, in order, from now on (read
     * {@link state} for the current one). A listener that throws is reported
     * to the logger and does not stop the others.
     */
    onState(listener) {
        const entry = { fn: listener };
        this.#stateListeners.add(entry);
        return () => {
            this.#stateListeners.delete(entry);
        };
    }
    /**
     * Resolves once the client is `connected`: at once if it is, else at the
     * next `connected`. Rejects when it ends first: with the `failed` state's
     * error, or a `CLOSED` {@link CallError}.
     */
    ready() {
        const state = this.#state;
        if (state.status === "connected")
            return Promise.resolve();
        if (state.status === "failed")
            return Promise.reject(state.error);
        if (state.status === "closed")
            return Promise.reject(closedError());
        return new Promise((resolve, reject) => {
            const stop = this.onState((next) => {
                if (next.status === "connected")
                    resolve();
                else if (next.status === "failed")
                    reject(next.error);
                else if (next.status === "closed")
                    reject(closedError());
                else
                    return;
                stop();
            });
        });
    }
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
    call(route, ...args) {
        const [input, options] = args;
        return this.#call(route, input, options);
    }
    /**
     * Sends the message `route` with `input` (no `rpcId`: the server sends
     * no reply; its errors go to the logger as `__error` frames). Resolves
     * once the frame is written to a connected socket; while not connected
     * it waits in the offline queue. Rejects with a {@link CallError}:
     * `QUEUE_FULL` (at once), `CONNECTION_LOST` (the client failed before it
     * was sent) or `CLOSED`.
     */
    send(route, ...args) {
        const [input] = args;
        if (typeof route !== "string")
            return Promise.reject(new TypeError("zocket: a route is a string"));
        if (this.#isFinal())
            return Promise.reject(closedError());
        let frame;
        try {
            frame = encode(route, input, null);
        }
        catch (error) {
            return Promise.reject(error);
        }
        if (this.#live) {
            this.#write(frame);
            return Promise.resolve();
        }
        return new Promise((resolve, reject) => {
            if (this.#queueIsFull())
                reject(queueFullError(this.#s.offlineQueue));
            else
                this.#queue.push({ kind: "message", frame, resolve, reject });
        });
    }
    /**
     * Listens to event `event`: `listener` gets the payload of each one, in
     * the order the server sent them, across reconnections (each event once
     * on a recovered session). A listener that throws is reported to the
     * logger; the client and the other listeners go on.
     */
    on(event, listener) {
        let set = this.#listeners.get(event);
        if (set === undefined) {
            set = new Set();
            this.#listeners.set(event, set);
        }
        const entry = { fn: listener };
        set.add(entry);
        return () => {
            const current = this.#listeners.get(event);
            if (current === undefined)
                return;
            current.delete(entry);
            if (current.size === 0)
                this.#listeners.delete(event);
        };
    }
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
    stream(route, ...args) {
        const [input, options] = args;
        return this.#stream(route, input, options);
    }
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
    method(route, ...kind) {
        const [as] = kind;
        if (as === "message") {
            const message = (input) => this.send(route, input);
            return message;
        }
        if (as === "stream") {
            const open = (input, options) => this.#stream(route, input, options);
            return open;
        }
        const call = (input, options) => this.#call(route, input, options);
        const result = async (input, options) => {
            try {
                return { ok: true, value: await this.#call(route, input, options) };
            }
            catch (error) {
                if (error instanceof CallError)
                    return { ok: false, error };
                throw error;
            }
        };
        return Object.assign(call, { result });
    }
    /** Event `event` as a subscription function: `subscriber("chat.message")(listener)` is `on("chat.message", listener)`. */
    subscriber(event) {
        return (listener) => this.on(event, listener);
    }
    /**
     * Closes the client for good, from any state (a `failed` client too):
     * with code `1000` if a socket is open (without waiting for the close
     * handshake), stopping any reconnection. The state becomes `closed`;
     * waiting calls and queued messages fail with `CLOSED`, and so do later
     * ones; the saved session is cleared. Closing a closed client does
     * nothing.
     */
    close() {
        if (this.#state.status === "closed")
            return;
        this.#teardown("now");
        this.#closeAbandoned();
        this.#forgetSession();
        this.#end({ status: "closed" }, closedError);
    }
    // --- Calls ---------------------------------------------------------------
    #call(route, input, options) {
        if (typeof route !== "string")
            return Promise.reject(new TypeError("zocket: a route is a string"));
        if (this.#isFinal())
            return Promise.reject(closedError());
        const timeout = options?.timeout ?? this.#s.timeout;
        if (typeof timeout !== "number" || !(timeout > 0) || timeout > 2_147_483_647) {
            return Promise.reject(new TypeError(`zocket: a call timeout must be a number of ms in (0, 2147483647], got ${String(timeout)}`));
        }
        const signal = options?.signal;
        if (signal?.aborted === true)
            return Promise.reject(cancelledError());
        const id = `${this.#prefix}-${++this.#counter}`;
        let frame;
        try {
            frame = encode(route, input, id);
        }
        catch (error) {
            return Promise.reject(error);
        }
        return new Promise((resolve, reject) => {
            let done = false;
            // Given up on after it was sent: the server is told to stop it.
            const abandon = (error) => {
                const inFlight = call.sent && this.#live && this.#pending.has(id);
                call.settle({ ok: false, error });
                if (inFlight)
                    this.#write(JSON.stringify({ type: "__cancel", rpcId: id }));
            };
            const onAbort = () => abandon(cancelledError());
            const timer = setTimeout(() => abandon(new CallError("TIMEOUT", `no reply within ${timeout} ms`)), timeout);
            const call = {
                frame,
                sent: false,
                settle: (outcome) => {
                    if (done)
                        return;
                    done = true;
                    clearTimeout(timer);
                    signal?.removeEventListener("abort", onAbort);
                    this.#pending.delete(id);
                    if (outcome.ok)
                        resolve(outcome.value);
                    else
                        reject(outcome.error);
                },
            };
            signal?.addEventListener("abort", onAbort, { once: true });
            if (this.#live) {
                this.#pending.set(id, call);
                call.sent = true;
                this.#write(frame);
            }
            else if (this.#queueIsFull()) {
                call.settle({ ok: false, error: queueFullError(this.#s.offlineQueue) });
            }
            else {
                this.#pending.set(id, call);
                this.#queue.push({ kind: "call", id });
            }
        });
    }
    // --- Streams -------------------------------------------------------------
    #stream(route, input, options) {
        if (typeof route !== "string")
            throw new TypeError("zocket: a route is a string");
        if (options !== undefined && (typeof options !== "object" || options === null)) {
            throw new TypeError("zocket: stream options must be an object");
        }
        const window = options?.window ?? DEFAULT_WINDOW;
        if (typeof window !== "number" || !Number.isSafeInteger(window) || window < 1) {
            throw new TypeError(`zocket: a stream window must be an integer >= 1, got ${String(window)}`);
        }
        const id = `${this.#prefix}-${++this.#counter}`;
        const frame = encode(route, input, id);
        const signal = options?.signal;
        const stream = new Stream(window, signal, cancelledError);
        if (this.#isFinal()) {
            stream.finish(closedError());
            return stream;
        }
        if (signal?.aborted === true) {
            stream.abort(cancelledError());
            return stream;
        }
        /** `received` of the latest grant. */
        let received = 0;
        /** Answered, failed or given up on: forgotten. */
        let done = false;
        const grant = () => {
            this.#write(JSON.stringify({ type: "__credit", rpcId: id, payload: { received, window } }));
        };
        const call = {
            frame,
            sent: false,
            settle: (outcome, replied = false) => {
                if (done)
                    return;
                done = true;
                this.#pending.delete(id);
                stream.finish(outcome.ok ? null : outcome.error, replied);
            },
            written: grant,
            item: (n, payload) => stream.push(n, payload),
        };
        stream.link({
            grant: (taken) => {
                received = taken;
                // Not sent yet, or not connected: the grant follows the open frame
                // when it is (re)sent.
                if (call.sent && this.#live && !done)
                    grant();
            },
            ack: (highest) => {
                // Right after the reply, on the connection it came on.
                if (this.#live) {
                    this.#write(JSON.stringify({ type: "__credit", rpcId: id, payload: { received: highest, window: 0 } }));
                }
            },
            stop: () => {
                if (done)
                    return;
                done = true;
                this.#pending.delete(id);
                if (!call.sent)
                    return;
                if (this.#live)
                    this.#write(JSON.stringify({ type: "__cancel", rpcId: id }));
                else
                    this.#cancelOnResume.add(id);
            },
        });
        if (this.#live) {
            this.#pending.set(id, call);
            call.sent = true;
            this.#write(frame);
            grant();
        }
        else if (this.#queueIsFull()) {
            stream.finish(queueFullError(this.#s.offlineQueue));
        }
        else {
            this.#pending.set(id, call);
            this.#queue.push({ kind: "call", id });
        }
        return stream;
    }
    /** Whether the offline queue has no room, once the calls that ended meanwhile have left it. */
    #queueIsFull() {
        if (this.#queue.length < this.#s.offlineQueue)
            return false;
        this.#queue = this.#queue.filter((item) => item.kind === "message" || this.#pending.has(item.id));
        return this.#queue.length >= this.#s.offlineQueue;
    }
    #write(frame) {
        try {
            this.#ws?.send(frame);
        }
        catch (error) {
            // The socket is closing: its close event follows, and a call in
            // flight is sent again if the session is recovered.
            this.#warn(`zocket: could not send a frame: ${String(error)}`);
        }
    }
    // --- The socket ------------------------------------------------------------
    /** Opens a socket, offering the session to resume if there is one. */
    #open() {
        const session = this.#sessionId === null ? null : { sessionId: this.#sessionId, lastSeq: this.#lastSeq };
        let ws;
        try {
            ws = new this.#s.WebSocket(this.#s.url, subprotocols(this.#s.headers, session));
        }
        catch (error) {
            // A URL or subprotocol the platform refuses: trying again would only
            // fail the same way.
            this.#fail(error instanceof Error ? error : new Error(String(error)));
            return;
        }
        this.#ws = ws;
        this.#live = false;
        ws.onopen = null;
        ws.onerror = () => {
            // A close event follows, in the same task where the platform follows
            // the WHATWG spec. Node 20's WebSocket fires none when the opening
            // handshake fails (nothing listens, the peer resets): the socket
            // stays CONNECTING, and the attempt would hang until connectTimeout.
            // If no close came, the socket counts as dropped.
            setTimeout(() => {
                if (this.#ws === ws)
                    this.#drop("the socket failed without a close event");
            }, 0);
        };
        ws.onmessage = (event) => {
            if (this.#ws === ws)
                this.#frame(event.data);
        };
        ws.onclose = (event) => {
            if (this.#ws === ws)
                this.#ended(event.code, event.reason);
        };
        const limit = this.#s.connectTimeout;
        this.#connectTimer = setTimeout(() => this.#drop(`no __ready within ${limit} ms`), limit);
    }
    /**
     * Gives up on the socket (it timed out, went silent or sent nonsense) at
     * once, without waiting for a close handshake, and handles its end as a
     * drop (`1006`). An open socket is only abandoned here (its handlers
     * detached) and closed once the next connection is ready, or when the
     * client ends: a close frame from the client would end the session on
     * the server (which keeps it only for a lost connection or a `1001`, a
     * code browsers cannot send), while a resume replaces the old socket.
     */
    #drop(reason) {
        this.#teardown("later");
        this.#ended(1006, reason, true);
    }
    /**
     * Forgets the socket and stops its timers; closes it with `1000` `"now"`,
     * or `"later"` (see `#drop`) if it is open.
     */
    #teardown(close) {
        const ws = this.#ws;
        this.#ws = null;
        clearTimeout(this.#connectTimer);
        clearTimeout(this.#retryTimer);
        clearTimeout(this.#livenessTimer);
        if (ws === null)
            return;
        ws.onopen = null;
        ws.onmessage = null;
        ws.onclose = null;
        ws.onerror = null;
        // A socket still connecting sends no close frame: it can go now.
        if (close === "later" && ws.readyState === 1)
            this.#abandoned.push(ws);
        else
            closeSocket(ws);
    }
    /** Closes the sockets given up on. */
    #closeAbandoned() {
        const abandoned = this.#abandoned;
        this.#abandoned = [];
        for (const ws of abandoned)
            closeSocket(ws);
    }
    /** The socket ended with `code` and `reason`: retry, recover, or end. */
    #ended(code, reason, dropped = false) {
        const wasLive = this.#live;
        this.#live = false;
        if (!dropped)
            this.#teardown("now");
        if (this.#isFinal())
            return;
        if (!wasLive && code >= 4000 && code <= 4999 && !isRetriedRefusal(code)) {
            // A saved session the server will not let this handshake resume (its
            // `on_resume` refused it, say) would only be refused again: forget it.
            this.#forgetSession();
            this.#fail(new RefusedError(code, reason));
            return;
        }
        this.#setState({ status: "disconnected", code, reason });
        if (this.#isFinal())
            return;
        if (wasLive && !isWorthReconnecting(code)) {
            // The server's deliberate answer (`1000`, `1008`, `4xxx`...): its
            // session has ended, and trying again would only be refused.
            this.#closeAbandoned();
            this.#forgetSession();
            this.#end({ status: "closed" }, closedError);
            return;
        }
        this.#retry(code, reason, wasLive);
    }
    /** Waits, then makes the next attempt; or fails when the attempts have run out. */
    #retry(code, reason, wasLive) {
        const max = this.#s.maxAttempts;
        if (this.#attempt >= max) {
            this.#fail(!wasLive && isRetriedRefusal(code)
                ? new RefusedError(code, reason)
                : new ConnectionLostError(code, reason, this.#attempt));
            return;
        }
        this.#attempt += 1;
        const delay = backoffDelay(this.#attempt, this.#s, this.#s.random());
        this.#setState({ status: "reconnecting", attempt: this.#attempt, maxAttempts: max, delay });
        if (this.#isFinal())
            return;
        this.#retryTimer = setTimeout(() => {
            this.#setState({ status: "connecting" });
            if (!this.#isFinal())
                this.#open();
        }, delay);
    }
    // --- Frames ------------------------------------------------------------------
    #frame(data) {
        if (this.#live)
            this.#armLiveness();
        if (typeof data !== "string") {
            // The protocol's frames are text; a binary frame carries nothing for the client.
            if (!this.#live)
                this.#drop("the first frame is not __ready");
            return;
        }
        let frame;
        try {
            const parsed = JSON.parse(data);
            if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
                throw new TypeError("not an object");
            frame = parsed;
        }
        catch {
            if (!this.#live)
                this.#drop("the first frame is not __ready");
            else
                this.#warn(`zocket: ignored a frame that is not a JSON object: ${excerpt(data)}`);
            return;
        }
        if (!this.#live) {
            if (frame.type === "__ready")
                this.#ready(frame.payload);
            else
                this.#drop("the first frame is not __ready");
            return;
        }
        switch (frame.type) {
            case "__rpc_res":
                if (typeof frame.rpcId === "string") {
                    this.#pending.get(frame.rpcId)?.settle({ ok: true, value: frame.payload ?? null }, true);
                }
                return;
            case "__rpc_err":
                if (typeof frame.rpcId === "string") {
                    this.#pending.get(frame.rpcId)?.settle({ ok: false, error: serverError(frame.error) }, true);
                }
                return;
            case "__item": {
                const { rpcId, n } = frame;
                if (typeof rpcId !== "string" || typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
                    this.#warn(`zocket: ignored a malformed __item frame: ${excerpt(data)}`);
                    return;
                }
                // A stream cancelled meanwhile (or unknown) has no use for it.
                this.#pending.get(rpcId)?.item?.(n, frame.payload ?? null);
                return;
            }
            case "__error": {
                const error = serverError(frame.error);
                const route = typeof frame.error?.route === "string" ? ` (route ${frame.error.route})` : "";
                this.#warn(`zocket: the server reported ${error.code}${route}: ${error.message}`);
                return;
            }
            default:
                if (typeof frame.type !== "string" || frame.type.startsWith("__"))
                    return;
                this.#event(frame.type, frame.payload ?? null, frame.seq, frame.dropped);
        }
    }
    #ready(payload) {
        const ready = (typeof payload === "object" && payload !== null ? payload : {});
        if (ready.protocolVersion !== PROTOCOL_VERSION) {
            this.#fail(new ProtocolVersionError(ready.protocolVersion, PROTOCOL_VERSION));
            return;
        }
        const { clientId, sessionId, recovered } = ready;
        if (typeof clientId !== "string" || typeof sessionId !== "string" || typeof recovered !== "boolean") {
            this.#drop("a malformed __ready");
            return;
        }
        const expected = this.#s.schemaHash;
        if (expected !== null && typeof ready.schemaHash === "string" && ready.schemaHash !== expected) {
            const mismatch = new SchemaMismatchError(ready.schemaHash, expected);
            if (this.#s.schemaCheck === "refuse") {
                this.#fail(mismatch);
                return;
            }
            this.#warn(`zocket: ${mismatch.message}`);
        }
        clearTimeout(this.#connectTimer);
        this.#live = true;
        this.#attempt = 0;
        this.#clientId = clientId;
        this.#sessionId = sessionId;
        if (!recovered)
            this.#lastSeq = 0;
        this.#saveSession();
        // Streams given up on while disconnected: stopped on the resumed
        // session (a fresh one never heard of them).
        const cancels = [...this.#cancelOnResume];
        this.#cancelOnResume.clear();
        if (recovered)
            for (const id of cancels)
                this.#write(JSON.stringify({ type: "__cancel", rpcId: id }));
        // The calls in flight: sent again with their `rpcId` on a recovered
        // session (the server answers each once), a stream's followed by its
        // latest grant; failed on a fresh one.
        for (const call of [...this.#pending.values()]) {
            if (!call.sent)
                continue;
            if (recovered) {
                this.#write(call.frame);
                call.written?.();
            }
            else
                call.settle({ ok: false, error: lostError() });
        }
        const queue = this.#queue;
        this.#queue = [];
        for (const item of queue) {
            if (item.kind === "message") {
                this.#write(item.frame);
                item.resolve();
            }
            else {
                const call = this.#pending.get(item.id);
                if (call === undefined)
                    continue;
                call.sent = true;
                this.#write(call.frame);
                call.written?.();
            }
        }
        this.#armLiveness();
        this.#closeAbandoned();
        this.#setState({ status: "connected", recovered, clientId });
    }
    #event(name, payload, seq, dropped) {
        if (typeof seq === "number") {
            // Replayed twice (or already seen before a reload): not again.
            if (seq <= this.#lastSeq)
                return;
            this.#lastSeq = seq;
            this.#saveSession();
        }
        const set = this.#listeners.get(name);
        if (set === undefined)
            return;
        const info = { dropped: typeof dropped === "number" && dropped > 0 ? dropped : 0 };
        for (const entry of [...set]) {
            try {
                entry.fn(payload, info);
            }
            catch (error) {
                this.#warn(`zocket: a listener of "${name}" threw: ${describeError(error)}`);
            }
        }
    }
    /** After `liveness / 3` without a frame, a `__ping`; after `liveness`, the link is dead. */
    #armLiveness() {
        const window = this.#s.liveness;
        if (window === null || !this.#live)
            return;
        clearTimeout(this.#livenessTimer);
        const idle = window / 3;
        this.#livenessTimer = setTimeout(() => {
            this.#write(PING);
            this.#livenessTimer = setTimeout(() => this.#drop(`no frame within ${window} ms`), window - idle);
        }, idle);
    }
    // --- States and the end ------------------------------------------------------
    #isFinal() {
        const { status } = this.#state;
        return status === "failed" || status === "closed";
    }
    #setState(state) {
        const current = this.#state.status;
        if (current === "closed" || (current === "failed" && state.status !== "closed"))
            return;
        this.#state = state;
        for (const entry of [...this.#stateListeners]) {
            try {
                entry.fn(state);
            }
            catch (error) {
                this.#warn(`zocket: a state listener threw: ${describeError(error)}`);
            }
        }
    }
    #fail(error) {
        this.#teardown("now");
        this.#closeAbandoned();
        this.#end({ status: "failed", error }, lostError);
    }
    /** Moves to the final `state` and fails every waiting call and queued message with `error()`. */
    #end(state, error) {
        const calls = [...this.#pending.values()];
        const queue = this.#queue;
        this.#pending.clear();
        this.#cancelOnResume.clear();
        this.#queue = [];
        this.#setState(state);
        for (const call of calls)
            call.settle({ ok: false, error: error() });
        for (const item of queue)
            if (item.kind === "message")
                item.reject(error());
    }
    #saveSession() {
        if (this.#s.session === null || this.#sessionId === null)
            return;
        try {
            this.#s.session.save({ sessionId: this.#sessionId, lastSeq: this.#lastSeq });
        }
        catch (error) {
            this.#warn(`zocket: could not save the session: ${describeError(error)}`);
        }
    }
    #forgetSession() {
        if (this.#s.session === null)
            return;
        try {
            this.#s.session.clear();
        }
        catch (error) {
            this.#warn(`zocket: could not clear the saved session: ${describeError(error)}`);
        }
    }
    #warn(message) {
        try {
            this.#s.logger.warn(message);
        }
        catch {
            // A logger that throws has nowhere to report to.
        }
    }
}
/** Closes `ws` with `1000` unless it is closing or closed already. */
function closeSocket(ws) {
    try {
        if (ws.readyState < 2)
            ws.close(1000);
    }
    catch {
        // Closing already.
    }
}
/** A client frame: `{"type","payload"?,"rpcId"?}`, no `payload` for an `undefined` input. */
function encode(route, input, rpcId) {
    const frame = { type: route };
    if (input !== undefined)
        frame.payload = input;
    if (rpcId !== null)
        frame.rpcId = rpcId;
    return JSON.stringify(frame);
}
/** The server's error object as a {@link CallError}. */
function serverError(error) {
    const code = typeof error?.code === "string" ? error.code : "INTERNAL";
    const message = typeof error?.message === "string" ? error.message : "";
    const path = typeof error?.path === "string" ? error.path : null;
    return new CallError(code, message, { path, data: error?.data ?? null });
}
function closedError() {
    return new CallError("CLOSED", "the client is closed");
}
function lostError() {
    return new CallError("CONNECTION_LOST", "the connection was lost before the reply came");
}
function cancelledError() {
    return new CallError("CANCELLED", "the call was cancelled");
}
function queueFullError(capacity) {
    return new CallError("QUEUE_FULL", `not connected and the offline queue (${capacity} frames) is full`);
}
function describeError(error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
function excerpt(text) {
    return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
