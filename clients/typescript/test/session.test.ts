import assert from "node:assert/strict";
import { test } from "node:test";
import { sessionStore, type StorageLike } from "@zocket/client";

/** A Web Storage in memory. */
function fakeStorage(): StorageLike & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

test("sessionStore saves, loads and clears the session as JSON under its key", () => {
  const storage = fakeStorage();
  const store = sessionStore("zocket.session", storage);
  assert.equal(store.load(), null);
  store.save({ sessionId: "47ab", lastSeq: 17 });
  assert.equal(storage.items.get("zocket.session"), '{"sessionId":"47ab","lastSeq":17}');
  assert.deepEqual(store.load(), { sessionId: "47ab", lastSeq: 17 });
  store.save({ sessionId: "47ab", lastSeq: 18 });
  assert.deepEqual(sessionStore("zocket.session", storage).load(), { sessionId: "47ab", lastSeq: 18 }, "another store (a reload) reads it");
  store.clear();
  assert.equal(storage.items.size, 0);
  assert.equal(store.load(), null);
});

test("sessionStore keeps separate keys apart, with the default key zocket.session", () => {
  const storage = fakeStorage();
  sessionStore(undefined, storage).save({ sessionId: "a", lastSeq: 1 });
  sessionStore("other", storage).save({ sessionId: "b", lastSeq: 2 });
  assert.deepEqual([...storage.items.keys()].sort(), ["other", "zocket.session"]);
  assert.deepEqual(sessionStore(undefined, storage).load(), { sessionId: "a", lastSeq: 1 });
});

test("sessionStore loads anything that is not a valid session as null", () => {
  const storage = fakeStorage();
  const store = sessionStore("k", storage);
  for (const text of ["not json", "null", "[]", '{"sessionId":"a"}', '{"sessionId":"a b","lastSeq":1}', '{"sessionId":"a","lastSeq":-1}', '{"sessionId":"a","lastSeq":1.5}']) {
    storage.items.set("k", text);
    assert.equal(store.load(), null, text);
  }
});

test("sessionStore survives a storage that throws", () => {
  const broken: StorageLike = {
    getItem: () => {
      throw new Error("denied");
    },
    setItem: () => {
      throw new Error("quota");
    },
    removeItem: () => {
      throw new Error("denied");
    },
  };
  const store = sessionStore("k", broken);
  assert.equal(store.load(), null);
  store.save({ sessionId: "a", lastSeq: 1 });
  store.clear();
});

test("sessionStore without a storage (no sessionStorage here) throws a TypeError", () => {
  assert.equal((globalThis as { sessionStorage?: unknown }).sessionStorage, undefined);
  assert.throws(() => sessionStore(), TypeError);
});
