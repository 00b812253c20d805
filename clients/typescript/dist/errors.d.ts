/**
 * What can go wrong: a call ({@link CallError}, with its code) and a
 * connection ({@link RefusedError}, {@link SchemaMismatchError},
 * {@link ProtocolVersionError}, {@link ConnectionLostError}, the `error` of
 * the `failed` state).
 *
 * @module
 */
/**
 * The error codes a zocket server answers a call with (see the protocol's
 * error table). Applications add their own codes; a generated client lists
 * them in each route's `error` type.
 */
export type ServerErrorCode = "BAD_REQUEST" | "NOT_FOUND" | "VALIDATION" | "UNAUTHORIZED" | "FORBIDDEN" | "RATE_LIMITED" | "TIMEOUT" | "INTERNAL" | "LIMIT_EXCEEDED" | "REPLY_LOST";
/**
 * The error codes the client itself fails a call with:
 *
 * - `CLOSED`: the client is closed (or has failed, or the server closed the
 *   connection on purpose before the reply came). A call that was never
 *   sent was not run.
 * - `QUEUE_FULL`: not connected and the offline queue is full; nothing was
 *   queued.
 * - `CANCELLED`: the call's `signal` was aborted; its reply, if any, is
 *   ignored (the server may still run it).
 * - `CONNECTION_LOST`: the connection dropped while the call was in flight
 *   and its session did not come back (a fresh session began, or the
 *   reconnection attempts ran out): the server may or may not have run it.
 *
 * A call that gets no reply within its timeout fails with `TIMEOUT`, the
 * code the server uses for a handler that ran past its own timeout.
 */
export type ClientErrorCode = "CLOSED" | "QUEUE_FULL" | "CANCELLED" | "CONNECTION_LOST";
/** Every error code of the protocol and of the client. */
export type ErrorCode = ServerErrorCode | ClientErrorCode;
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
export declare class CallError<C extends string = ErrorCode> extends Error {
    /** The error code: the server's (`VALIDATION`, an application's) or the client's (`TIMEOUT`, `CLOSED`...). */
    readonly code: C;
    /** For the server's `VALIDATION` errors, the field at fault (`items[2].qty`); `null` otherwise. */
    readonly path: string | null;
    /** The structured details the server gave (`{"limit":"rooms","max":1000}`), `null` when none. */
    readonly data: unknown;
    /**
     * A call error with `code` and `message`; `path` and `data` as the
     * server's error object has them.
     */
    constructor(code: C, message: string, details?: {
        path?: string | null;
        data?: unknown;
    });
}
/**
 * The server refused the handshake: it closed the socket with a `4xxx` code
 * before `__ready` (with the `zocket.refusals` subprotocol a refusal is
 * `4000 + HTTP status`, reason `"<CODE>: <message>"`), or the application's
 * `on_connect` failed. Final: the client does not retry, except for `4503`
 * (unavailable) and `4429` (too many requests), which are retried like a
 * lost connection (and end in this error when the attempts run out).
 */
export declare class RefusedError extends Error {
    /** The close code, 4000-4999 (`4401`, `4403`...). */
    readonly closeCode: number;
    /** The HTTP status of the refusal (`closeCode - 4000` for 4400-4599), `null` for other application codes. */
    readonly status: number | null;
    /** The refusal's code (`INVALID_HEADERS`, `UNAUTHORIZED`...), `null` when the reason has none. */
    readonly code: string | null;
    /** A refusal with close code `closeCode` and close reason `reason` (`"<CODE>: <message>"`). */
    constructor(closeCode: number, reason: string);
}
/**
 * The server's API schema (`__ready.schemaHash`) differs from the one the
 * client was generated from, and the client was made with
 * `schemaCheck: "refuse"`. Final: reconnecting would only meet the same
 * server. Regenerate the client from the server's definition.
 */
export declare class SchemaMismatchError extends Error {
    /** The server's schema hash. */
    readonly server: string;
    /** The hash this client was generated with. */
    readonly client: string;
    /** A mismatch between the `server`'s hash and the `client`'s. */
    constructor(server: string, client: string);
}
/**
 * The server's `__ready` names another protocol version than this
 * client's ({@link PROTOCOL_VERSION}). Final: not retried.
 */
export declare class ProtocolVersionError extends Error {
    /** The server's version, from its `__ready`. */
    readonly server: unknown;
    /** This client's version. */
    readonly client: number;
    /** The `server` speaks another version than `client`. */
    constructor(server: unknown, client: number);
}
/**
 * The connection was lost and did not come back: the reconnection attempts
 * ran out (or reconnection is off). `closeCode` and `reason` are those of
 * the last socket's end (`1006` and the client's own reason when it dropped
 * without a close frame, timed out or went silent).
 */
export declare class ConnectionLostError extends Error {
    /** The last socket's close code. */
    readonly closeCode: number;
    /** The last socket's close reason. */
    readonly reason: string;
    /** The reconnection attempts made (0 with reconnection off). */
    readonly attempts: number;
    /** The last socket ended with `closeCode` and `reason`, after `attempts` attempts. */
    constructor(closeCode: number, reason: string, attempts: number);
}
/** The protocol version this client speaks (`__ready.protocolVersion`). */
export declare const PROTOCOL_VERSION = 1;
