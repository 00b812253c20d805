/**
 * The client's side of one stream: the items received and not yet taken,
 * the credit to grant as the application takes them, and how the
 * iteration ends. The client feeds it (`push`, `finish`); the application
 * iterates it (see {@link ZocketStream}).
 *
 * @internal
 * @module
 */
const DONE = { done: true, value: undefined };
/**
 * One stream (see {@link ZocketStream}): opened by the client, which
 * then sets its {@link StreamLink}.
 *
 * @internal
 */
export class Stream {
    #window;
    #signal;
    #link = null;
    /** Received, not yet taken. */
    #items = [];
    /** The highest item number received. */
    #received = 0;
    /** The items the application has taken. */
    #taken = 0;
    /** `received` of the latest grant (or final acknowledgement). */
    #granted = 0;
    /** Set once the end is known; the buffered items are still taken before it. */
    #end = null;
    /** The end's error has been thrown (or the end reported): later `next()`s are done. */
    #over = false;
    #waiters = [];
    #iterated = false;
    #error = null;
    #onAbort = () => this.abort(this.#abortError());
    #abortError;
    /**
     * A stream granting `window` items at a time, cancelled with
     * `abortError()` when `signal` aborts.
     */
    constructor(window, signal, abortError) {
        this.#window = window;
        this.#signal = signal;
        this.#abortError = abortError;
        signal?.addEventListener("abort", this.#onAbort, { once: true });
    }
    /** Connects the stream to its client (once it is open). */
    link(link) {
        this.#link = link;
    }
    get error() {
        return this.#error;
    }
    [Symbol.asyncIterator]() {
        if (this.#iterated)
            throw new TypeError("zocket: a stream can be iterated only once");
        this.#iterated = true;
        return {
            next: () => this.#next(),
            return: () => {
                this.cancel();
                return Promise.resolve(DONE);
            },
        };
    }
    cancel() {
        if (this.#end !== null) {
            // Ended already: the application is done with what is left.
            this.#items = [];
            this.#over = true;
            return;
        }
        this.#stop({ error: null });
    }
    /** Item `n` came with `item`: kept unless it is a replay of one received already. */
    push(n, item) {
        if (this.#end !== null || n <= this.#received)
            return;
        this.#received = n;
        const waiter = this.#waiters.shift();
        if (waiter === undefined)
            this.#items.push(item);
        else {
            this.#took();
            waiter.resolve({ done: false, value: item });
        }
    }
    /**
     * The server's reply (`replied`), or the connection's end, ends the
     * stream, normally (`error` null) or with `error`, once the items
     * received are taken. After the reply, the items received past the
     * latest grant are acknowledged at once, those not taken yet included
     * (the server keeps a finished stream's items until then, and no grant
     * follows the end): an application that stops iterating then has
     * nothing more to tell the server.
     */
    finish(error, replied = false) {
        if (this.#end !== null)
            return;
        this.#ended({ error });
        this.#error = error;
        if (replied && this.#received > this.#granted) {
            this.#granted = this.#received;
            this.#link?.ack(this.#received);
        }
        // Waiters only wait when nothing is buffered: the end is theirs.
        this.#settleWaiters();
    }
    /** The application's signal aborted: the stream ends at once with `error`, its items dropped. */
    abort(error) {
        if (this.#end !== null)
            return;
        this.#error = error;
        this.#stop({ error });
    }
    /** Ends the stream on the application's side, dropping its items, and tells the client. */
    #stop(end) {
        this.#items = [];
        this.#ended(end);
        this.#settleWaiters();
        this.#link?.stop();
    }
    #ended(end) {
        this.#end = end;
        this.#signal?.removeEventListener("abort", this.#onAbort);
    }
    /** Gives the end to the waiting `next()`s: the first gets the error, if any; the others are done. */
    #settleWaiters() {
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const waiter of waiters) {
            const error = this.#takeEnd();
            if (error === null)
                waiter.resolve(DONE);
            else
                waiter.reject(error);
        }
    }
    /** The end's error the first time it is reported, then `null`. */
    #takeEnd() {
        if (this.#over)
            return null;
        this.#over = true;
        return this.#end?.error ?? null;
    }
    #next() {
        if (this.#items.length > 0) {
            const value = this.#items.shift();
            this.#took();
            return Promise.resolve({ done: false, value });
        }
        if (this.#end !== null) {
            const error = this.#takeEnd();
            return error === null ? Promise.resolve(DONE) : Promise.reject(error);
        }
        const waiting = new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
        this.#starving();
        return waiting;
    }
    /**
     * The application waits with nothing buffered: if it has taken items
     * since the latest grant, a new grant now rather than at half the
     * window, since the server may have stopped short of it (it caps the
     * window at its `max_stream_window`, and the bytes of the items it
     * keeps unacknowledged). Once per wait: the grant brings the two level.
     */
    #starving() {
        if (this.#taken > this.#granted) {
            this.#granted = this.#taken;
            this.#link?.grant(this.#taken);
        }
    }
    /** The application took one item: a new grant once it has taken half the window since the last one. */
    #took() {
        this.#taken += 1;
        if (this.#end !== null)
            return;
        if (2 * (this.#taken - this.#granted) >= this.#window) {
            this.#granted = this.#taken;
            this.#link?.grant(this.#taken);
        }
    }
}
