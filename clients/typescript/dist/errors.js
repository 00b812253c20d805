/**
 * What can go wrong: a call ({@link CallError}, with its code) and a
 * connection ({@link RefusedError}, {@link SchemaMismatchError},
 * {@link ProtocolVersionError}, {@link ConnectionLostError}, the `error` of
 * the `failed` state).
 *
 * @module
 */
/**
 * A failed call: the server's error reply (`__rpc_err`), or the client's
 * own reason (see {@link ClientErrorCode}). Match it by {@link CallError.code}:
 *
 * ```ts
 * try {
 *   await api.chat.send({ room: "general", text: "hi" });
 * } catch (error) {
 *   if (error instanceof CallError && error.code === "FORBIDDEN") showJoinFirst();
 *   else throw error;
 * }
 * ```
 *
 * @typeParam C - The codes this call may fail with.
 */
export class CallError extends Error {
    /** The error code: the server's (`VALIDATION`, an application's) or the client's (`TIMEOUT`, `CLOSED`...). */
    code;
    /** For the server's `VALIDATION` errors, the field at fault (`items[2].qty`); `null` otherwise. */
    path;
    /** The structured details the server gave (`{"limit":"rooms","max":1000}`), `null` when none. */
    data;
    /**
     * A call error with `code` and `message`; `path` and `data` as the
     * server's error object has them.
     */
    constructor(code, message, details = {}) {
        super(message);
        this.name = "CallError";
        this.code = code;
        this.path = details.path ?? null;
        this.data = details.data ?? null;
    }
}
/**
 * The server refused the handshake: it closed the socket with a `4xxx` code
 * before `__ready` (with the `zocket.refusals` subprotocol a refusal is
 * `4000 + HTTP status`, reason `"<CODE>: <message>"`), or the application's
 * `on_connect` failed. Final: the client does not retry, except for `4503`
 * (unavailable) and `4429` (too many requests), which are retried like a
 * lost connection (and end in this error when the attempts run out).
 */
export class RefusedError extends Error {
    /** The close code, 4000-4999 (`4401`, `4403`...). */
    closeCode;
    /** The HTTP status of the refusal (`closeCode - 4000` for 4400-4599), `null` for other application codes. */
    status;
    /** The refusal's code (`INVALID_HEADERS`, `UNAUTHORIZED`...), `null` when the reason has none. */
    code;
    /** A refusal with close code `closeCode` and close reason `reason` (`"<CODE>: <message>"`). */
    constructor(closeCode, reason) {
        const match = /^([A-Z][A-Z0-9_]*): ([\s\S]*)$/.exec(reason);
        const code = match?.[1] ?? null;
        const message = match?.[2] ?? reason;
        super(message === "" ? `handshake refused with ${closeCode}` : message);
        this.name = "RefusedError";
        this.closeCode = closeCode;
        this.status = closeCode >= 4400 && closeCode <= 4599 ? closeCode - 4000 : null;
        this.code = code;
    }
}
/**
 * The server's API schema (`__ready.schemaHash`) differs from the one the
 * client was generated from, and the client was made with
 * `schemaCheck: "refuse"`. Final: reconnecting would only meet the same
 * server. Regenerate the client from the server's definition.
 */
export class SchemaMismatchError extends Error {
    /** The server's schema hash. */
    server;
    /** The hash this client was generated with. */
    client;
    /** A mismatch between the `server`'s hash and the `client`'s. */
    constructor(server, client) {
        super(`the server's API schema (${server}) differs from this client's (${client}): regenerate the client from the server's definition`);
        this.name = "SchemaMismatchError";
        this.server = server;
        this.client = client;
    }
}
/**
 * The server's `__ready` names another protocol version than this
 * client's ({@link PROTOCOL_VERSION}). Final: not retried.
 */
export class ProtocolVersionError extends Error {
    /** The server's version, from its `__ready`. */
    server;
    /** This client's version. */
    client;
    /** The `server` speaks another version than `client`. */
    constructor(server, client) {
        super(`the server speaks protocol version ${String(server)}, this client version ${client}`);
        this.name = "ProtocolVersionError";
        this.server = server;
        this.client = client;
    }
}
/**
 * The connection was lost and did not come back: the reconnection attempts
 * ran out (or reconnection is off). `closeCode` and `reason` are those of
 * the last socket's end (`1006` and the client's own reason when it dropped
 * without a close frame, timed out or went silent).
 */
export class ConnectionLostError extends Error {
    /** The last socket's close code. */
    closeCode;
    /** The last socket's close reason. */
    reason;
    /** The reconnection attempts made (0 with reconnection off). */
    attempts;
    /** The last socket ended with `closeCode` and `reason`, after `attempts` attempts. */
    constructor(closeCode, reason, attempts) {
        const why = reason === "" ? `closed with ${closeCode}` : `closed with ${closeCode}: ${reason}`;
        super(attempts === 0
            ? `the connection was lost (${why})`
            : `the connection was lost and ${attempts} reconnection attempt${attempts === 1 ? "" : "s"} failed (last ${why})`);
        this.name = "ConnectionLostError";
        this.closeCode = closeCode;
        this.reason = reason;
        this.attempts = attempts;
    }
}
/** The protocol version this client speaks (`__ready.protocolVersion`). */
export const PROTOCOL_VERSION = 1;
