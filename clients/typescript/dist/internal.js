/**
 * The client's helpers, not exported from the package: options checked and
 * filled in, the backoff, the handshake's subprotocol entries, `rpcId`s.
 *
 * @internal
 * @module
 */
/** The longest delay `setTimeout` keeps (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMER = 2_147_483_647;
/** Throws a `TypeError` naming the option at fault. */
function invalid(name, expected, value) {
    throw new TypeError(`zocket: option \`${name}\` must be ${expected}, got ${describe(value)}`);
}
function describe(value) {
    if (typeof value === "string")
        return JSON.stringify(value);
    if (typeof value === "number" || typeof value === "boolean" || value == null)
        return String(value);
    return typeof value;
}
/** A duration in ms: a finite number in `[min, 2^31 - 1]`. */
function duration(name, value, fallback, min) {
    if (value === undefined)
        return fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > MAX_TIMER) {
        invalid(name, `a number of ms in [${min}, ${MAX_TIMER}]`, value);
    }
    return value;
}
/** A count: an integer >= 0 (or `Infinity` when `infinite`). */
function count(name, value, fallback, infinite) {
    if (value === undefined)
        return fallback;
    const ok = typeof value === "number" && value >= 0 && (Number.isSafeInteger(value) || (infinite && value === Infinity));
    if (!ok)
        invalid(name, infinite ? "an integer >= 0 or Infinity" : "an integer >= 0", value);
    return value;
}
/** The header fields as a flat JSON object; `undefined` fields are left out. */
function flatHeaders(value) {
    if (value === undefined || value === null)
        return {};
    if (typeof value !== "object" || Array.isArray(value)) {
        invalid("headers", "an object of flat values", value);
    }
    const out = {};
    for (const [key, field] of Object.entries(value)) {
        if (field === undefined)
            continue;
        if (field === null || typeof field === "string" || typeof field === "boolean") {
            out[key] = field;
        }
        else if (typeof field === "number" && Number.isFinite(field)) {
            out[key] = field;
        }
        else {
            invalid(`headers.${key}`, "a string, a finite number, a boolean or null (nested values are not supported)", field);
        }
    }
    return out;
}
/** Checks `options` and fills in the defaults; throws a `TypeError` on nonsense. */
export function settings(options) {
    if (typeof options !== "object" || options === null)
        invalid("options", "an object", options);
    const { url } = options;
    if (typeof url !== "string" || !/^wss?:\/\/[^/?#\s]+/i.test(url)) {
        invalid("url", "a ws:// or wss:// URL", url);
    }
    const WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof WebSocket !== "function") {
        throw new TypeError("zocket: no WebSocket in this environment: pass `options.WebSocket` (on Node 20, run with --experimental-websocket or pass the `ws` package's WebSocket)");
    }
    const reconnect = options.reconnect ?? {};
    if (reconnect !== false && (typeof reconnect !== "object" || reconnect === null)) {
        invalid("reconnect", "false or an object", reconnect);
    }
    const policy = reconnect === false ? {} : reconnect;
    const maxAttempts = reconnect === false ? 0 : count("reconnect.maxAttempts", policy.maxAttempts, 5, true);
    const baseDelay = duration("reconnect.baseDelay", policy.baseDelay, 1000, 0);
    const maxDelay = duration("reconnect.maxDelay", policy.maxDelay, Math.max(30_000, baseDelay), 0);
    if (baseDelay > maxDelay) {
        throw new TypeError(`zocket: option \`reconnect.baseDelay\` (${baseDelay}) must not be longer than \`reconnect.maxDelay\` (${maxDelay})`);
    }
    const jitter = policy.jitter ?? 0.3;
    if (typeof jitter !== "number" || !(jitter >= 0 && jitter <= 1))
        invalid("reconnect.jitter", "a number in [0, 1]", jitter);
    const liveness = options.liveness === false ? null : duration("liveness", options.liveness, 45_000, 3);
    const schemaCheck = options.schemaCheck ?? "warn";
    if (schemaCheck !== "warn" && schemaCheck !== "refuse")
        invalid("schemaCheck", '"warn" or "refuse"', schemaCheck);
    const schemaHash = options.schemaHash ?? null;
    if (schemaHash !== null && typeof schemaHash !== "string")
        invalid("schemaHash", "a string", schemaHash);
    const logger = options.logger ?? console;
    if (typeof logger?.warn !== "function")
        invalid("logger", "an object with a warn(message) method", logger);
    const random = options.random ?? Math.random;
    if (typeof random !== "function")
        invalid("random", "a function", random);
    const session = options.session ?? null;
    if (session !== null && (typeof session.load !== "function" || typeof session.save !== "function" || typeof session.clear !== "function")) {
        invalid("session", "a SessionStore (load, save, clear)", session);
    }
    return {
        url,
        headers: flatHeaders(options.headers),
        WebSocket,
        timeout: duration("timeout", options.timeout, 30_000, 1),
        connectTimeout: duration("connectTimeout", options.connectTimeout, 30_000, 1),
        maxAttempts,
        baseDelay,
        maxDelay,
        jitter,
        offlineQueue: count("offlineQueue", options.offlineQueue, 1024, false),
        liveness,
        session,
        schemaHash,
        schemaCheck,
        logger,
        random,
    };
}
/**
 * The delay before reconnection attempt `attempt` (from 1), in ms:
 * `min(maxDelay, baseDelay * 2^(attempt-1))`, multiplied by
 * `1 + jitter * (2 * unit - 1)` (a factor in `[1 - jitter, 1 + jitter]`
 * for `unit` in `[0, 1]`), capped at `maxDelay`, rounded to the ms.
 */
export function backoffDelay(attempt, policy, unit) {
    const doublings = Math.min(Math.max(attempt, 1) - 1, 1023);
    const plain = Math.min(policy.maxDelay, policy.baseDelay * 2 ** doublings);
    const u = Number.isFinite(unit) ? Math.min(Math.max(unit, 0), 1) : 0.5;
    const jittered = plain * (1 + policy.jitter * (2 * u - 1));
    return Math.round(Math.min(policy.maxDelay, Math.max(0, jittered)));
}
/** Unpadded base64url of the UTF-8 bytes of `text`. */
export function base64url(text) {
    const bytes = new TextEncoder().encode(text);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
        binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
/** What a session id must look like to travel as a subprotocol entry. */
const SESSION_ID = /^[0-9A-Za-z_.~-]{1,256}$/;
/** Whether `value` is a session the handshake can carry. */
export function isSession(value) {
    if (typeof value !== "object" || value === null)
        return false;
    const { sessionId, lastSeq } = value;
    return (typeof sessionId === "string" &&
        SESSION_ID.test(sessionId) &&
        typeof lastSeq === "number" &&
        Number.isSafeInteger(lastSeq) &&
        lastSeq >= 0);
}
/**
 * The `WebSocket` subprotocols of a handshake: `zocket.v1`,
 * `zocket.refusals`, the headers, and the session to resume.
 */
export function subprotocols(headers, session) {
    const protocols = ["zocket.v1", "zocket.refusals", `zocket.headers.${base64url(JSON.stringify(headers))}`];
    if (session !== null) {
        protocols.push(`zocket.session.${session.sessionId}`, `zocket.last-seq.${session.lastSeq}`);
    }
    return protocols;
}
/**
 * A random prefix for this client's `rpcId`s (16 hex digits), so that a
 * client resuming a session saved by another one never reuses its ids.
 */
export function rpcIdPrefix() {
    const bytes = new Uint8Array(8);
    const crypto = globalThis.crypto;
    if (typeof crypto?.getRandomValues === "function") {
        crypto.getRandomValues(bytes);
    }
    else {
        for (let i = 0; i < bytes.length; i++)
            bytes[i] = Math.floor(Math.random() * 256);
    }
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
/** Whether a connection that ended with `code` after its `__ready` may come back (the server went away or failed, or it dropped). */
export function isWorthReconnecting(code) {
    return code === 1001 || code === 1006 || code === 1011 || code === 1012 || code === 1013 || code === 1014;
}
/** Whether a close with `code` before `__ready` is a refusal that is retried (unavailable, too many requests). */
export function isRetriedRefusal(code) {
    return code === 4503 || code === 4429;
}
