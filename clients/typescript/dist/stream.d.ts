/**
 * The client's side of one stream: the items received and not yet taken,
 * the credit to grant as the application takes them, and how the
 * iteration ends. The client feeds it (`push`, `finish`); the application
 * iterates it (see {@link ZocketStream}).
 *
 * @internal
 * @module
 */
import type { CallError } from "./errors.js";
import type { ZocketStream } from "./types.js";
/** What a stream asks of its client. */
export interface StreamLink {
    /** A new grant is due: the application has taken `received` items in all. */
    grant(received: number): void;
    /**
     * The stream has ended with its reply, and items up to `received` have
     * come that no grant acknowledged: acknowledge them (a grant of no more
     * credit), so that the server forgets them.
     */
    ack(received: number): void;
    /** The application gave up on the stream (break, `cancel()`, abort): forget it and cancel it on the server. */
    stop(): void;
}
/**
 * One stream (see {@link ZocketStream}): opened by the client, which
 * then sets its {@link StreamLink}.
 *
 * @internal
 */
export declare class Stream<T, C extends string> implements ZocketStream<T, C> {
    #private;
    /**
     * A stream granting `window` items at a time, cancelled with
     * `abortError()` when `signal` aborts.
     */
    constructor(window: number, signal: AbortSignal | undefined, abortError: () => CallError<C>);
    /** Connects the stream to its client (once it is open). */
    link(link: StreamLink): void;
    get error(): CallError<C> | null;
    [Symbol.asyncIterator](): AsyncIterator<T, void, undefined>;
    cancel(): void;
    /** Item `n` came with `item`: kept unless it is a replay of one received already. */
    push(n: number, item: T): void;
    /**
     * The server's reply (`replied`), or the connection's end, ends the
     * stream, normally (`error` null) or with `error`, once the items
     * received are taken. After the reply, the items received past the
     * latest grant are acknowledged at once, those not taken yet included
     * (the server keeps a finished stream's items until then, and no grant
     * follows the end): an application that stops iterating then has
     * nothing more to tell the server.
     */
    finish(error: CallError<C> | null, replied?: boolean): void;
    /** The application's signal aborted: the stream ends at once with `error`, its items dropped. */
    abort(error: CallError<C>): void;
}
