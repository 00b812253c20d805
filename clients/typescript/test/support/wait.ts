// Waiting on what the end-to-end tests observe (states, events), always
// with a timeout that fails the test with what was seen so far.

import type { ConnectionState } from "@zocket/client";

/** Rejects with `what` if `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A growing list (events, states) that can be waited on. */
export class Recorder<T> {
  readonly items: T[] = [];
  readonly #waiters = new Set<() => void>();

  push(item: T): void {
    this.items.push(item);
    for (const wake of [...this.#waiters]) wake();
  }

  /**
   * Resolves with the first item from index `from` on that satisfies
   * `predicate` (at once if there is one), with its index; rejects after
   * `ms`, listing what came.
   */
  waitFor(predicate: (item: T) => boolean, what: string, ms = 5_000, from = 0): Promise<{ item: T; index: number }> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (let index = from; index < this.items.length; index++) {
          const item = this.items[index] as T;
          if (predicate(item)) {
            this.#waiters.delete(check);
            clearTimeout(timer);
            resolve({ item, index });
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; got ${describe(this.items.slice(from))}`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves once `condition` (checked now and at each new item) holds; rejects after `ms`. */
  until(condition: (items: readonly T[]) => boolean, what: string, ms = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition(this.items)) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; got ${describe(this.items)}`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves once at least `count` items came; rejects after `ms`. */
  waitForCount(count: number, what: string, ms = 5_000): Promise<void> {
    return this.until((items) => items.length >= count, `${count} ${what}`, ms);
  }
}

/** Records every state of `client` from now on. */
export function recordStates(client: { onState(listener: (state: ConnectionState) => void): unknown }): Recorder<ConnectionState> {
  const states = new Recorder<ConnectionState>();
  client.onState((state) => states.push(state));
  return states;
}

function describe(items: unknown[]): string {
  const text = JSON.stringify(items.length > 20 ? [...items.slice(0, 10), "...", ...items.slice(-10)] : items, (_, value: unknown) =>
    value instanceof Error ? `${value.name}: ${value.message}` : value,
  );
  return `${items.length} item(s): ${text.length > 2000 ? `${text.slice(0, 2000)}...` : text}`;
}
