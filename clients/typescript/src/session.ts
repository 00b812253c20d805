/**
 * A {@link SessionStore} over the Web Storage API, so that a session
 * survives a page reload.
 *
 * @module
 */

import { isSession } from "./internal.js";
import type { Session, SessionStore } from "./types.js";

/** The part of the Web Storage API (`sessionStorage`, `localStorage`) a {@link sessionStore} uses. */
export interface StorageLike {
  /** The value saved under `key`, or `null`. */
  getItem(key: string): string | null;
  /** Saves `value` under `key`. */
  setItem(key: string, value: string): void;
  /** Forgets `key`. */
  removeItem(key: string): void;
}

/**
 * A session store keeping the session as JSON under `key` of `storage`
 * (the tab's `sessionStorage` by default: a reload resumes the session,
 * another tab does not share it). The session id is a secret: prefer
 * `sessionStorage` to `localStorage`.
 *
 * A value that is not a valid session loads as `null`; a storage that
 * fails to save (over its quota, say) leaves the previous value.
 *
 * `close()` clears the saved session (a closed session cannot be resumed):
 * to resume after a reload, do not close the client when the page goes
 * away; the next page's client then offers the saved session.
 *
 * ```ts
 * const api = createChatClient({ url, headers: { name }, session: sessionStore() });
 * ```
 *
 * @param key - The storage key (`"zocket.session"`).
 * @param storage - Where to keep it (`globalThis.sessionStorage`).
 * @throws TypeError when there is no such storage (outside a browser, pass one).
 */
export function sessionStore(
  key = "zocket.session",
  storage: StorageLike | undefined = (globalThis as { sessionStorage?: StorageLike }).sessionStorage,
): SessionStore {
  if (storage == null || typeof storage.getItem !== "function") {
    throw new TypeError("zocket: sessionStore() needs a Storage: there is no sessionStorage here, pass one");
  }
  return {
    load(): Session | null {
      let text: string | null;
      try {
        text = storage.getItem(key);
      } catch {
        return null;
      }
      if (text === null) return null;
      try {
        const value: unknown = JSON.parse(text);
        return isSession(value) ? { sessionId: value.sessionId, lastSeq: value.lastSeq } : null;
      } catch {
        return null;
      }
    },
    save(session: Session): void {
      try {
        storage.setItem(key, JSON.stringify({ sessionId: session.sessionId, lastSeq: session.lastSeq }));
      } catch {
        // Over quota or disabled: the session is only not saved.
      }
    },
    clear(): void {
      try {
        storage.removeItem(key);
      } catch {
        // Disabled storage: nothing was saved.
      }
    },
  };
}
