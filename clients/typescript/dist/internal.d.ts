/**
 * The client's helpers, not exported from the package: options checked and
 * filled in, the backoff, the handshake's subprotocol entries, `rpcId`s.
 *
 * @internal
 * @module
 */
import type { ClientOptions, Logger, Session, SessionStore, WebSocketConstructor } from "./types.js";
/** The options of a client, checked, with the defaults filled in. */
export interface Settings {
    url: string;
    headers: Record<string, string | number | boolean | null>;
    WebSocket: WebSocketConstructor;
    timeout: number;
    connectTimeout: number;
    maxAttempts: number;
    baseDelay: number;
    maxDelay: number;
    jitter: number;
    offlineQueue: number;
    liveness: number | null;
    session: SessionStore | null;
    schemaHash: string | null;
    schemaCheck: "warn" | "refuse";
    logger: Logger;
    random: () => number;
}
/** Checks `options` and fills in the defaults; throws a `TypeError` on nonsense. */
export declare function settings<H>(options: ClientOptions<H> & {
    schemaHash?: string;
}): Settings;
/**
 * The delay before reconnection attempt `attempt` (from 1), in ms:
 * `min(maxDelay, baseDelay * 2^(attempt-1))`, multiplied by
 * `1 + jitter * (2 * unit - 1)` (a factor in `[1 - jitter, 1 + jitter]`
 * for `unit` in `[0, 1]`), capped at `maxDelay`, rounded to the ms.
 */
export declare function backoffDelay(attempt: number, policy: {
    baseDelay: number;
    maxDelay: number;
    jitter: number;
}, unit: number): number;
/** Unpadded base64url of the UTF-8 bytes of `text`. */
export declare function base64url(text: string): string;
/** Whether `value` is a session the handshake can carry. */
export declare function isSession(value: unknown): value is Session;
/**
 * The `WebSocket` subprotocols of a handshake: `zocket.v1`,
 * `zocket.refusals`, the headers, and the session to resume.
 */
export declare function subprotocols(headers: Settings["headers"], session: Session | null): string[];
/**
 * A random prefix for this client's `rpcId`s (16 hex digits), so that a
 * client resuming a session saved by another one never reuses its ids.
 */
export declare function rpcIdPrefix(): string;
/** Whether a connection that ended with `code` after its `__ready` may come back (the server went away or failed, or it dropped). */
export declare function isWorthReconnecting(code: number): boolean;
/** Whether a close with `code` before `__ready` is a refusal that is retried (unavailable, too many requests). */
export declare function isRetriedRefusal(code: number): boolean;
