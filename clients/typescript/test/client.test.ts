import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import {
  CallError,
  ConnectionLostError,
  ProtocolVersionError,
  RefusedError,
  SchemaMismatchError,
  ZocketClient,
  sessionStore,
  type ClientOptions,
  type ConnectionState,
  type SessionStore,
  type Session,
} from "@zocket/client";
import { fakeServer, flush, recordingLogger, track } from "./fake.js";

interface TestRoutes {
  "t.echo": { kind: "call"; input: { n: number }; output: { n: number }; error: "OUT_OF_STOCK" | "CLOSED" | "TIMEOUT" };
  "t.whoami": { kind: "call"; input: void; output: string; error: "CLOSED" };
  "t.note": { kind: "message"; input: string; output: null; error: "CLOSED" };
}
interface TestEvents {
  tick: number;
}
type Headers = { name: string };
type Options = Partial<ClientOptions<Headers>> & { schemaHash?: string };

function setup(t: TestContext, options: Options = {}) {
  try {
    t.mock.timers.enable({ apis: ["setTimeout"] });
  } catch {
    // Already enabled by an earlier setup() of this test.
  }
  const server = fakeServer();
  const logger = recordingLogger();
  const client = new ZocketClient<Headers, TestRoutes, TestEvents>({
    url: "ws://h/ws",
    headers: { name: "ada" },
    WebSocket: server.WebSocket,
    logger,
    random: () => 0.5,
    ...options,
  });
  const states: ConnectionState[] = [];
  client.onState((state) => states.push(state));
  const ticks: number[] = [];
  client.on("tick", (n) => ticks.push(n));
  t.after(() => client.close());
  return { client, server, logger, states, ticks, tick: (ms: number) => t.mock.timers.tick(ms) };
}

/** The client's state, without the narrowing of earlier assertions. */
function current(client: { readonly state: ConnectionState }): ConnectionState {
  return client.state;
}

/** Decodes the `zocket.headers.` entry of a handshake. */
function decodeHeaders(protocols: string[]): unknown {
  const entry = protocols.find((p) => p.startsWith("zocket.headers."));
  assert.ok(entry, "a headers entry");
  const b64 = entry.slice("zocket.headers.".length);
  assert.match(b64, /^[A-Za-z0-9_-]+$/, "unpadded base64url");
  return JSON.parse(Buffer.from(b64, "base64url").toString("utf8"));
}

function memoryStore(initial: Session | null = null): SessionStore & { saved: Session | null; log: string[] } {
  const store = {
    saved: initial,
    log: [] as string[],
    load: () => store.saved,
    save: (session: Session) => {
      store.saved = { ...session };
      store.log.push(`save ${session.sessionId} ${session.lastSeq}`);
    },
    clear: () => {
      store.saved = null;
      store.log.push("clear");
    },
  };
  return store;
}

test("connecting, then connected at __ready; ready() resolves; ids and session are set", async (t) => {
  const { client, server, states } = setup(t);
  assert.deepEqual(client.state, { status: "connecting" });
  assert.equal(client.clientId, null);
  assert.equal(client.session, null);
  const ready = track(client.ready());
  assert.equal(server.sockets.length, 1);
  server.last().ready({ clientId: "c9", sessionId: "s9" });
  await flush();
  assert.equal(ready.status, "resolved");
  assert.deepEqual(states, [{ status: "connected", recovered: false, clientId: "c9" }]);
  assert.equal(client.clientId, "c9");
  assert.deepEqual(client.session, { sessionId: "s9", lastSeq: 0 });
  await client.ready();
});

test("the handshake carries headers and session as subprotocols; the URL has no secrets", async (t) => {
  const store = memoryStore({ sessionId: "47abcdef", lastSeq: 17 });
  const { server } = setup(t, { headers: { name: "Ada Lovelacé" }, session: store, url: "ws://h/ws?room=1" });
  const socket = server.last();
  assert.equal(socket.url, "ws://h/ws?room=1");
  assert.deepEqual(socket.protocols.slice(0, 2), ["zocket.v1", "zocket.refusals"]);
  assert.deepEqual(decodeHeaders(socket.protocols), { name: "Ada Lovelacé" });
  assert.deepEqual(socket.protocols.slice(3), ["zocket.session.47abcdef", "zocket.last-seq.17"]);
  assert.equal(socket.protocols.length, 5);
  assert.ok(!socket.url.includes("Ada") && !socket.url.includes("47abcdef"));
});

test("a first connection without a session offers none", (t) => {
  const { server } = setup(t);
  assert.equal(server.last().protocols.length, 3);
  assert.ok(!server.last().protocols.some((p) => p.startsWith("zocket.session.")));
});

test("calls and messages are written as the protocol says; a void input sends no payload", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const echo = client.call("t.echo", { n: 1 });
  const whoami = client.method("t.whoami")();
  await client.send("t.note", "hi");
  await client.method("t.note", "message")("there");
  const [a, b, c, d] = socket.take();
  assert.equal(typeof a?.["rpcId"], "string");
  assert.match(String(a?.["rpcId"]), /^[0-9a-f]{16}-\d+$/);
  assert.deepEqual(a, { type: "t.echo", payload: { n: 1 }, rpcId: a?.["rpcId"] });
  assert.deepEqual(b, { type: "t.whoami", rpcId: b?.["rpcId"] });
  assert.notEqual(a?.["rpcId"], b?.["rpcId"]);
  assert.deepEqual(c, { type: "t.note", payload: "hi" });
  assert.deepEqual(d, { type: "t.note", payload: "there" });
  socket.receive({ type: "__rpc_res", rpcId: b?.["rpcId"], payload: "ada" });
  socket.receive({
    type: "__rpc_err",
    rpcId: a?.["rpcId"],
    error: { code: "OUT_OF_STOCK", message: "none left", path: null, data: { left: 0 } },
  });
  assert.equal(await whoami, "ada");
  const error = await echo.then(
    () => assert.fail("must reject"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CallError);
  assert.equal(error.code, "OUT_OF_STOCK");
  assert.equal(error.message, "none left");
  assert.deepEqual(error.data, { left: 0 });
  assert.equal(error.path, null);
});

test("method().result() resolves with ok/value or ok:false/error, never rejecting for a call error", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const echo = client.method("t.echo");
  const good = echo.result({ n: 2 });
  const bad = echo.result({ n: 3 });
  const [a, b] = socket.take();
  socket.receive({ type: "__rpc_res", rpcId: a?.["rpcId"], payload: { n: 2 } });
  socket.receive({
    type: "__rpc_err",
    rpcId: b?.["rpcId"],
    error: { code: "VALIDATION", message: "bad", path: "n", data: null },
  });
  assert.deepEqual(await good, { ok: true, value: { n: 2 } });
  const r = await bad;
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.error.code, "VALIDATION");
  assert.equal(r.error.path, "n");
});

test("backoff: disconnected, reconnecting with doubling capped delays, connecting; then failed after maxAttempts", async (t) => {
  const { client, server, states } = setup(t, {
    reconnect: { maxAttempts: 4, baseDelay: 100, maxDelay: 500, jitter: 0.2 },
    random: () => 0,
  });
  server.last().ready();
  const inFlight = track(client.call("t.echo", { n: 1 }));
  server.last().end(1006);
  const queuedCall = track(client.call("t.echo", { n: 2 }));
  const queuedMessage = track(client.send("t.note", "x"));
  const delays = [80, 160, 320, 400];
  for (const [i, delay] of delays.entries()) {
    assert.deepEqual(client.state, { status: "reconnecting", attempt: i + 1, maxAttempts: 4, delay });
    t.mock.timers.tick(delay - 1);
    assert.equal(server.sockets.length, i + 1, "not before the delay");
    t.mock.timers.tick(1);
    assert.equal(server.sockets.length, i + 2);
    assert.deepEqual(client.state, { status: "connecting" });
    server.last().end(1006, "refused by the network");
  }
  assert.equal(client.state.status, "failed");
  assert.equal(server.sockets.length, 5);
  const error = client.state.status === "failed" ? client.state.error : null;
  assert.ok(error instanceof ConnectionLostError);
  assert.equal(error.closeCode, 1006);
  assert.equal(error.attempts, 4);
  assert.deepEqual(
    states.map((s) => s.status),
    [
      "connected",
      "disconnected",
      ...delays.flatMap(() => ["reconnecting", "connecting", "disconnected"]),
      "failed",
    ],
  );
  await flush();
  for (const pending of [inFlight, queuedCall, queuedMessage]) {
    assert.equal(pending.status, "rejected");
    assert.ok(pending.error instanceof CallError);
    assert.equal(pending.error.code, "CONNECTION_LOST");
  }
  t.mock.timers.tick(100_000);
  assert.equal(server.sockets.length, 5, "no attempt after failed");
  const late = await client.call("t.echo", { n: 3 }).catch((e: unknown) => e);
  assert.ok(late instanceof CallError && late.code === "CLOSED");
});

test("backoff: the jitter stays within [1 - jitter, 1 + jitter], capped at maxDelay", async (t) => {
  const units = [1, 0.999, 0.5, 0.25, 0, 0.75, 1, 0.1];
  let i = 0;
  const { client, server } = setup(t, {
    reconnect: { maxAttempts: 8, baseDelay: 1000, maxDelay: 10_000, jitter: 0.3 },
    random: () => units[i++] ?? 0.5,
  });
  server.last().ready();
  server.last().end(1001, "going away");
  const seen: number[] = [];
  for (let attempt = 1; attempt <= 8; attempt++) {
    const state = client.state;
    assert.equal(state.status, "reconnecting");
    if (state.status !== "reconnecting") return;
    assert.equal(state.attempt, attempt);
    const plain = Math.min(10_000, 1000 * 2 ** (attempt - 1));
    assert.ok(state.delay >= plain * 0.7 - 0.5, `${state.delay} >= ${plain * 0.7}`);
    assert.ok(state.delay <= Math.min(10_000, plain * 1.3) + 0.5, `${state.delay} <= ${plain * 1.3}`);
    seen.push(state.delay);
    t.mock.timers.tick(state.delay);
    server.last().end(1006);
  }
  assert.deepEqual(seen, [1300, 2599, 4000, 6800, 7000, 10_000, 10_000, 7600]);
  assert.equal(client.state.status, "failed");
});

test("backoff with Math.random stays within bounds", async (t) => {
  const { client, server } = setup(t, {
    reconnect: { maxAttempts: 30, baseDelay: 50, maxDelay: 2000, jitter: 0.5 },
    random: Math.random,
  });
  server.last().ready();
  server.last().end(1006);
  for (let attempt = 1; attempt <= 30; attempt++) {
    const state = client.state;
    if (state.status !== "reconnecting") return assert.fail(`state ${state.status}`);
    const plain = Math.min(2000, 50 * 2 ** (attempt - 1));
    assert.ok(state.delay >= Math.round(plain * 0.5) && state.delay <= Math.min(2000, Math.round(plain * 1.5)), `${attempt}: ${state.delay}`);
    t.mock.timers.tick(state.delay);
    server.last().end(1006);
  }
  assert.equal(client.state.status, "failed");
});

test("a first connection that fails is retried, and attempts reset after a ready", async (t) => {
  const { client, server, states } = setup(t, { reconnect: { baseDelay: 100, jitter: 0 } });
  server.last().end(1006);
  assert.deepEqual(states.slice(0, 2), [
    { status: "disconnected", code: 1006, reason: "" },
    { status: "reconnecting", attempt: 1, maxAttempts: 5, delay: 100 },
  ]);
  t.mock.timers.tick(100);
  server.last().end(1006);
  assert.deepEqual(client.state, { status: "reconnecting", attempt: 2, maxAttempts: 5, delay: 200 });
  t.mock.timers.tick(200);
  server.last().ready();
  assert.equal(client.state.status, "connected");
  server.last().end(1012);
  assert.deepEqual(client.state, { status: "reconnecting", attempt: 1, maxAttempts: 5, delay: 100 });
});

test("an error without a close event (Node 20's failed handshake) counts as a drop; with its close, it is one end", async (t) => {
  const { client, server, states } = setup(t, { reconnect: { baseDelay: 100, jitter: 0 } });
  // Node 20: error, and the socket stays CONNECTING with no close event.
  const stuck = server.last();
  stuck.onerror?.({});
  assert.deepEqual(states, [], "the close event may still come in this task");
  t.mock.timers.tick(0);
  assert.deepEqual(states, [
    { status: "disconnected", code: 1006, reason: "the socket failed without a close event" },
    { status: "reconnecting", attempt: 1, maxAttempts: 5, delay: 100 },
  ]);
  assert.equal(stuck.attached, false, "the stuck socket is let go");
  assert.deepEqual(stuck.closedBy, { code: 1000 }, "and closed (it never opened: no session to keep)");
  t.mock.timers.tick(100);
  assert.equal(server.sockets.length, 2);
  // The WHATWG order: error, then close in the same task: one end only.
  const failing = server.last();
  failing.onerror?.({});
  failing.end(1006);
  t.mock.timers.tick(0);
  assert.deepEqual(states.slice(2), [
    { status: "connecting" },
    { status: "disconnected", code: 1006, reason: "" },
    { status: "reconnecting", attempt: 2, maxAttempts: 5, delay: 200 },
  ]);
  t.mock.timers.tick(200);
  server.last().ready();
  assert.equal(client.state.status, "connected");
  // An error on an open socket followed by its close: one end, then a resume.
  const open = server.last();
  open.onerror?.({});
  open.end(1006);
  t.mock.timers.tick(0);
  assert.deepEqual(client.state, { status: "reconnecting", attempt: 1, maxAttempts: 5, delay: 100 });
  assert.equal(server.sockets.length, 3);
});

test("a refusal (4400 before __ready) fails with RefusedError and is not retried", async (t) => {
  const { client, server, states } = setup(t);
  const call = track(client.call("t.echo", { n: 1 }));
  const ready = track(client.ready());
  server.last().open();
  server.last().end(4400, "INVALID_HEADERS: invalid headers: name: at most 32 characters");
  assert.equal(states.length, 1);
  const state = client.state;
  assert.equal(state.status, "failed");
  if (state.status !== "failed") return;
  assert.ok(state.error instanceof RefusedError);
  assert.equal(state.error.closeCode, 4400);
  assert.equal(state.error.status, 400);
  assert.equal(state.error.code, "INVALID_HEADERS");
  assert.equal(state.error.message, "invalid headers: name: at most 32 characters");
  t.mock.timers.tick(600_000);
  assert.equal(server.sockets.length, 1, "no second socket");
  await flush();
  assert.equal(ready.status, "rejected");
  assert.equal(ready.error, state.error);
  assert.equal(call.status, "rejected");
  assert.equal((call.error as CallError).code, "CONNECTION_LOST");
});

test("an application code outside 4400-4599 before ready is a refusal with status null", (t) => {
  const { client, server } = setup(t);
  server.last().open();
  server.last().end(4001, "no code here");
  const state = client.state;
  assert.ok(state.status === "failed" && state.error instanceof RefusedError);
  assert.equal(state.error.status, null);
  assert.equal(state.error.code, null);
  assert.equal(state.error.message, "no code here");
});

test("4503 and 4429 refusals are retried with backoff", async (t) => {
  const { client, server } = setup(t, { reconnect: { baseDelay: 100, jitter: 0, maxAttempts: 2 } });
  server.last().open();
  server.last().end(4503, "UNAVAILABLE: too many connections");
  assert.deepEqual(client.state, { status: "reconnecting", attempt: 1, maxAttempts: 2, delay: 100 });
  t.mock.timers.tick(100);
  assert.equal(server.sockets.length, 2);
  server.last().end(4429, "RATE_LIMITED: slow down");
  t.mock.timers.tick(200);
  assert.equal(server.sockets.length, 3);
  server.last().end(4503, "UNAVAILABLE: shutting down");
  const state = current(client);
  assert.ok(state.status === "failed" && state.error instanceof RefusedError, "the last refusal");
  assert.equal(state.error.status, 503);
  assert.equal(state.error.message, "shutting down");
});

test("a 4503 retried, then connected", (t) => {
  const { client, server } = setup(t, { reconnect: { baseDelay: 100, jitter: 0 } });
  server.last().end(4503, "UNAVAILABLE: too many connections");
  t.mock.timers.tick(100);
  server.last().ready();
  assert.deepEqual(client.state, { status: "connected", recovered: false, clientId: "c1" });
});

test("a deliberate close after ready (4000, 1000, 1008) is disconnected then closed, not retried", async (t) => {
  for (const code of [4000, 1000, 1008]) {
    const { client, server, states } = setup(t);
    server.last().ready();
    const call = track(client.call("t.echo", { n: 1 }));
    server.last().end(code, "bye");
    assert.deepEqual(states.slice(1), [{ status: "disconnected", code, reason: "bye" }, { status: "closed" }]);
    t.mock.timers.tick(60_000);
    assert.equal(server.sockets.length, 1);
    await flush();
    assert.equal((call.error as CallError).code, "CLOSED");
  }
});

test("with reconnect: false a drop is disconnected then failed", (t) => {
  const { client, server } = setup(t, { reconnect: false });
  server.last().ready();
  server.last().end(1006);
  const state = client.state;
  assert.ok(state.status === "failed" && state.error instanceof ConnectionLostError);
  assert.equal(state.error.attempts, 0);
  t.mock.timers.tick(60_000);
  assert.equal(server.sockets.length, 1);
});

test("close() from failed goes to closed; calls then reject with CLOSED", async (t) => {
  const { client, server, states } = setup(t);
  server.last().end(4403, "FORBIDDEN: origin not allowed");
  assert.equal(client.state.status, "failed");
  client.close();
  assert.deepEqual(client.state, { status: "closed" });
  assert.deepEqual(states.map((s) => s.status), ["failed", "closed"]);
  const error = await client.call("t.echo", { n: 1 }).catch((e: unknown) => e);
  assert.ok(error instanceof CallError);
  assert.equal(error.code, "CLOSED");
  await assert.rejects(client.send("t.note", "x"), (e: unknown) => e instanceof CallError && e.code === "CLOSED");
  await assert.rejects(client.ready(), (e: unknown) => e instanceof CallError && e.code === "CLOSED");
  client.close();
  assert.equal(states.length, 2, "closing again does nothing");
});

test("close() while connected closes the socket with 1000 and fails pending calls with CLOSED", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const call = track(client.call("t.echo", { n: 1 }));
  client.close();
  assert.deepEqual(socket.closedBy, { code: 1000 });
  assert.equal(socket.attached, false);
  await flush();
  assert.equal((call.error as CallError).code, "CLOSED");
  t.mock.timers.tick(600_000);
  assert.equal(server.sockets.length, 1);
});

test("close() during a reconnection delay stops it", (t) => {
  const { client, server } = setup(t);
  server.last().ready();
  server.last().end(1006);
  assert.equal(client.state.status, "reconnecting");
  client.close();
  t.mock.timers.tick(600_000);
  assert.equal(server.sockets.length, 1);
  assert.equal(client.state.status, "closed");
});

test("the offline queue is bounded: QUEUE_FULL at once, then sent in order after ready", async (t) => {
  const { client, server } = setup(t, { offlineQueue: 2 });
  const a = track(client.send("t.note", "a"));
  const b = track(client.call("t.echo", { n: 1 }));
  const c = track(client.call("t.echo", { n: 2 }));
  const d = track(client.send("t.note", "d"));
  await flush();
  assert.equal(c.status, "rejected");
  assert.equal((c.error as CallError).code, "QUEUE_FULL");
  assert.equal(d.status, "rejected");
  assert.equal((d.error as CallError).code, "QUEUE_FULL");
  assert.equal(a.status, "pending", "a message resolves once written");
  assert.equal(b.status, "pending");
  const socket = server.last();
  socket.ready();
  const frames = socket.take();
  assert.deepEqual(
    frames.map((f) => f["payload"]),
    ["a", { n: 1 }],
  );
  await flush();
  assert.equal(a.status, "resolved");
  socket.receive({ type: "__rpc_res", rpcId: frames[1]?.["rpcId"], payload: { n: 1 } });
  await flush();
  assert.deepEqual(b.value, { n: 1 });
});

test("a queued call that timed out leaves room in the queue and is never sent", async (t) => {
  const { client, server } = setup(t, { offlineQueue: 1 });
  const early = track(client.call("t.echo", { n: 1 }, { timeout: 50 }));
  t.mock.timers.tick(50);
  await flush();
  assert.equal((early.error as CallError).code, "TIMEOUT");
  const note = track(client.send("t.note", "after"));
  await flush();
  assert.equal(note.status, "pending");
  server.last().ready();
  assert.deepEqual(server.last().take(), [{ type: "t.note", payload: "after" }]);
});

test("a call times out with TIMEOUT; its late reply is ignored", async (t) => {
  const { client, server } = setup(t, { timeout: 1000 });
  const socket = server.last();
  socket.ready();
  const byDefault = track(client.call("t.echo", { n: 1 }));
  const own = track(client.call("t.echo", { n: 2 }, { timeout: 200 }));
  const [a] = socket.take();
  t.mock.timers.tick(199);
  await flush();
  assert.equal(own.status, "pending");
  t.mock.timers.tick(1);
  await flush();
  assert.equal(own.status, "rejected");
  assert.equal((own.error as CallError).code, "TIMEOUT");
  assert.equal((own.error as CallError).message, "no reply within 200 ms");
  assert.equal(byDefault.status, "pending");
  t.mock.timers.tick(800);
  await flush();
  assert.equal((byDefault.error as CallError).code, "TIMEOUT");
  socket.receive({ type: "__rpc_res", rpcId: a?.["rpcId"], payload: { n: 1 } });
  await flush();
  assert.equal(byDefault.status, "rejected");
});

test("an aborted signal cancels the call with CANCELLED", async (t) => {
  const { client, server } = setup(t);
  server.last().ready();
  const controller = new AbortController();
  const call = track(client.call("t.echo", { n: 1 }, { signal: controller.signal }));
  controller.abort();
  await flush();
  assert.equal((call.error as CallError).code, "CANCELLED");
  const already = await client.call("t.echo", { n: 1 }, { signal: controller.signal }).catch((e: unknown) => e);
  assert.equal((already as CallError).code, "CANCELLED");
  // The aborted call had been sent: a __cancel follows it; the other was never sent.
  const sent = server.last().take();
  assert.equal(sent.length, 2, JSON.stringify(sent));
  assert.equal(sent[0]?.["type"], "t.echo");
  assert.deepEqual(sent[1], { type: "__cancel", rpcId: sent[0]?.["rpcId"] });
});

test("a call that times out after it was sent is cancelled on the server", async (t) => {
  const { client, server } = setup(t, { timeout: 100 });
  const socket = server.last();
  socket.ready();
  const call = track(client.call("t.echo", { n: 1 }));
  t.mock.timers.tick(100);
  await flush();
  assert.equal((call.error as CallError).code, "TIMEOUT");
  const [sent, cancel] = socket.take();
  assert.deepEqual(cancel, { type: "__cancel", rpcId: sent?.["rpcId"] });
});

test("recovery: in-flight calls resent with the same rpcId before the queue; each event once", async (t) => {
  const store = memoryStore();
  const { client, server, states, ticks } = setup(t, { session: store, reconnect: { baseDelay: 10, jitter: 0 } });
  const first = server.last();
  first.ready({ sessionId: "s1", clientId: "c1" });
  const slow = track(client.call("t.echo", { n: 1 }));
  const [sent] = first.take();
  first.receive({ type: "tick", payload: 1, seq: 1 });
  first.receive({ type: "tick", payload: 2, seq: 2 });
  assert.deepEqual(ticks, [1, 2]);
  first.end(1006);
  assert.equal(first.attached, false);
  const note = track(client.send("t.note", "while away"));
  const later = track(client.call("t.echo", { n: 2 }));
  t.mock.timers.tick(10);
  const second = server.last();
  assert.notEqual(second, first);
  assert.deepEqual(second.protocols.slice(3), ["zocket.session.s1", "zocket.last-seq.2"]);
  second.ready({ sessionId: "s1", clientId: "c1", recovered: true });
  const frames = second.take();
  assert.deepEqual(frames[0], sent, "the call in flight first, same rpcId");
  assert.deepEqual(frames[1], { type: "t.note", payload: "while away" });
  assert.equal(frames[2]?.["type"], "t.echo");
  assert.notEqual(frames[2]?.["rpcId"], sent?.["rpcId"]);
  assert.equal(frames.length, 3);
  // Replayed: seq 2 again (dropped), then 3.
  second.receive({ type: "tick", payload: 2, seq: 2 });
  second.receive({ type: "tick", payload: 3, seq: 3 });
  assert.deepEqual(ticks, [1, 2, 3]);
  second.receive({ type: "__rpc_res", rpcId: sent?.["rpcId"], payload: { n: 1 } });
  second.receive({ type: "__rpc_res", rpcId: frames[2]?.["rpcId"], payload: { n: 2 } });
  await flush();
  assert.equal(note.status, "resolved");
  assert.deepEqual(slow.value, { n: 1 });
  assert.deepEqual(later.value, { n: 2 });
  assert.deepEqual(client.session, { sessionId: "s1", lastSeq: 3 });
  assert.deepEqual(store.saved, { sessionId: "s1", lastSeq: 3 });
  assert.deepEqual(states.at(-1), { status: "connected", recovered: true, clientId: "c1" });
});

test("a fresh session fails the calls in flight with CONNECTION_LOST, resets lastSeq, sends the queued ones", async (t) => {
  const { client, server, ticks } = setup(t, { reconnect: { baseDelay: 10, jitter: 0 } });
  const first = server.last();
  first.ready({ sessionId: "s1" });
  const inFlight = track(client.call("t.echo", { n: 1 }));
  first.receive({ type: "tick", payload: 5, seq: 5 });
  first.end(1006);
  const queued = track(client.call("t.echo", { n: 2 }));
  t.mock.timers.tick(10);
  const second = server.last();
  assert.ok(second.protocols.includes("zocket.last-seq.5"));
  second.ready({ sessionId: "s2", clientId: "c2", recovered: false });
  await flush();
  assert.equal((inFlight.error as CallError).code, "CONNECTION_LOST");
  assert.deepEqual(client.session, { sessionId: "s2", lastSeq: 0 });
  assert.equal(client.clientId, "c2");
  const frames = second.take();
  assert.equal(frames.length, 1, "the call in flight is not resent");
  assert.deepEqual(frames[0]?.["payload"], { n: 2 });
  second.receive({ type: "tick", payload: 1, seq: 1 });
  assert.deepEqual(ticks, [5, 1]);
  second.receive({ type: "__rpc_res", rpcId: frames[0]?.["rpcId"], payload: { n: 2 } });
  await flush();
  assert.deepEqual(queued.value, { n: 2 });
});

test("liveness: __ping after liveness/3 idle; a frame resets it; silence for liveness drops and reconnects", async (t) => {
  const { client, server } = setup(t, { liveness: 3000, reconnect: { baseDelay: 10, jitter: 0 } });
  const socket = server.last();
  socket.ready();
  t.mock.timers.tick(999);
  assert.deepEqual(socket.take(), []);
  t.mock.timers.tick(1);
  assert.deepEqual(socket.take(), [{ type: "__ping" }]);
  t.mock.timers.tick(1500);
  socket.receive({ type: "__pong" });
  t.mock.timers.tick(999);
  assert.deepEqual(socket.take(), [], "the pong reset the idle timer");
  t.mock.timers.tick(1);
  assert.deepEqual(socket.take(), [{ type: "__ping" }]);
  assert.equal(client.state.status, "connected");
  t.mock.timers.tick(1999);
  assert.equal(client.state.status, "connected");
  assert.equal(socket.closedBy, null);
  t.mock.timers.tick(1);
  assert.equal(socket.attached, false, "given up on without waiting");
  assert.deepEqual(client.state, { status: "reconnecting", attempt: 1, maxAttempts: 5, delay: 10 });
  assert.equal(socket.closedBy, null, "no close frame yet: it would end the session");
  t.mock.timers.tick(10);
  assert.equal(server.sockets.length, 2);
  server.last().ready({ recovered: true });
  assert.deepEqual(socket.closedBy, { code: 1000 }, "closed once the next connection is ready");
  assert.equal(server.last().closedBy, null);
});

test("a socket given up on is closed when the client ends instead", (t) => {
  const { client, server } = setup(t, { liveness: 300, reconnect: false });
  const socket = server.last();
  socket.ready();
  t.mock.timers.tick(100);
  assert.deepEqual(socket.take(), [{ type: "__ping" }]);
  t.mock.timers.tick(200);
  assert.equal(client.state.status, "failed");
  assert.deepEqual(socket.closedBy, { code: 1000 });
});

test("liveness: false sends no ping and never drops", (t) => {
  const { client, server } = setup(t, { liveness: false });
  server.last().ready();
  t.mock.timers.tick(10 * 60_000);
  assert.deepEqual(server.last().take(), []);
  assert.equal(client.state.status, "connected");
});

test("no __ready within connectTimeout is a failed attempt", (t) => {
  const { client, server } = setup(t, { connectTimeout: 500, reconnect: { baseDelay: 10, jitter: 0 } });
  server.last().open();
  t.mock.timers.tick(500);
  assert.equal(server.sockets[0]?.attached, false);
  assert.deepEqual(client.state, { status: "reconnecting", attempt: 1, maxAttempts: 5, delay: 10 });
  t.mock.timers.tick(10);
  // Still connecting: closed at once (no close frame to send).
  t.mock.timers.tick(500);
  assert.deepEqual(server.sockets[1]?.closedBy, { code: 1000 });
  assert.equal(server.sockets[0]?.closedBy, null);
  client.close();
  assert.deepEqual(server.sockets[0]?.closedBy, { code: 1000 });
});

test("a first frame other than __ready is a failed attempt", (t) => {
  const { client, server, states } = setup(t, { reconnect: { baseDelay: 10, jitter: 0 } });
  server.last().open();
  server.last().receive({ type: "tick", payload: 1, seq: 1 });
  assert.deepEqual(states[0], { status: "disconnected", code: 1006, reason: "the first frame is not __ready" });
  assert.equal(client.state.status, "reconnecting");
});

test("another protocol version fails with ProtocolVersionError, not retried", (t) => {
  const { client, server } = setup(t);
  server.last().ready({ protocolVersion: 2 });
  const state = client.state;
  assert.ok(state.status === "failed" && state.error instanceof ProtocolVersionError);
  assert.equal(state.error.server, 2);
  assert.equal(state.error.client, 1);
  t.mock.timers.tick(600_000);
  assert.equal(server.sockets.length, 1);
});

test("schema mismatch: warn logs and connects; refuse fails with SchemaMismatchError", (t) => {
  const warned = setup(t, { schemaHash: "aaaa" });
  warned.server.last().ready({ schemaHash: "bbbb" });
  assert.equal(warned.client.state.status, "connected");
  assert.equal(warned.logger.messages.length, 1);
  assert.match(warned.logger.messages[0] ?? "", /schema \(bbbb\) differs from this client's \(aaaa\)/);

  const same = setup(t, { schemaHash: "aaaa", schemaCheck: "refuse" });
  same.server.last().ready({ schemaHash: "aaaa" });
  assert.equal(same.client.state.status, "connected");

  const refused = setup(t, { schemaHash: "aaaa", schemaCheck: "refuse" });
  refused.server.last().ready({ schemaHash: "bbbb" });
  const state = refused.client.state;
  assert.ok(state.status === "failed" && state.error instanceof SchemaMismatchError);
  assert.equal(state.error.server, "bbbb");
  assert.equal(state.error.client, "aaaa");
  assert.equal(refused.logger.messages.length, 0);
  assert.deepEqual(refused.server.last().closedBy, { code: 1000 });
  t.mock.timers.tick(600_000);
  assert.equal(refused.server.sockets.length, 1);
});

test("a listener that throws is reported and does not break the client or the other listeners", async (t) => {
  const { client, server, logger, ticks } = setup(t);
  const socket = server.last();
  client.on("tick", () => {
    throw new Error("boom");
  });
  const after: number[] = [];
  client.on("tick", (n) => after.push(n));
  client.onState(() => {
    throw new Error("state boom");
  });
  socket.ready();
  socket.receive({ type: "tick", payload: 1, seq: 1 });
  socket.receive({ type: "tick", payload: 2, seq: 2 });
  assert.deepEqual(ticks, [1, 2]);
  assert.deepEqual(after, [1, 2]);
  assert.equal(client.state.status, "connected");
  assert.deepEqual(logger.messages, [
    "zocket: a state listener threw: Error: state boom",
    'zocket: a listener of "tick" threw: Error: boom',
    'zocket: a listener of "tick" threw: Error: boom',
  ]);
  const call = client.call("t.echo", { n: 1 });
  socket.receive({ type: "__rpc_res", rpcId: socket.take()[0]?.["rpcId"], payload: { n: 9 } });
  assert.deepEqual(await call, { n: 9 });
});

test("unsubscribing stops a listener; events without seq are always delivered", (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const seen: number[] = [];
  const stop = client.subscriber("tick")((n) => seen.push(n));
  socket.receive({ type: "tick", payload: 1 });
  socket.receive({ type: "tick", payload: 1 });
  stop();
  stop();
  socket.receive({ type: "tick", payload: 2 });
  assert.deepEqual(seen, [1, 1]);
});

test("an ephemeral event's dropped count reaches the listener; others say 0", (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const seen: [number, number][] = [];
  client.subscriber("tick")((n, info) => seen.push([n, info.dropped]));
  socket.receive({ type: "tick", payload: 1 });
  socket.receive({ type: "tick", payload: 9, dropped: 7 });
  socket.receive({ type: "tick", payload: 10, seq: 1 });
  assert.deepEqual(seen, [
    [1, 0],
    [9, 7],
    [10, 0],
  ]);
});

test("__error frames go to the logger", (t) => {
  const { server, logger } = setup(t);
  server.last().ready();
  server.last().receive({
    type: "__error",
    error: { code: "NOT_FOUND", message: "no route chat.sned", path: null, data: null, route: "chat.sned" },
  });
  assert.deepEqual(logger.messages, ["zocket: the server reported NOT_FOUND (route chat.sned): no route chat.sned"]);
});

test("the session store: loaded at construction, saved at ready and as lastSeq advances, cleared on close()", (t) => {
  const store = memoryStore({ sessionId: "old", lastSeq: 4 });
  const { client, server } = setup(t, { session: store });
  assert.deepEqual(client.session, { sessionId: "old", lastSeq: 4 });
  const socket = server.last();
  socket.ready({ sessionId: "old", recovered: true });
  socket.receive({ type: "tick", payload: 4, seq: 4 });
  socket.receive({ type: "tick", payload: 5, seq: 5 });
  client.close();
  assert.deepEqual(store.log, ["save old 4", "save old 5", "clear"]);
  assert.equal(store.saved, null);
});

test("the session store: a fresh session replaces the saved one", (t) => {
  const store = memoryStore({ sessionId: "old", lastSeq: 4 });
  const { server } = setup(t, { session: store });
  server.last().ready({ sessionId: "new", recovered: false });
  assert.deepEqual(store.saved, { sessionId: "new", lastSeq: 0 });
});

test("options are checked with clear TypeErrors", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { WebSocket } = fakeServer();
  const base = { url: "ws://h/ws", headers: {}, WebSocket };
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ url: "http://h/ws" }, /`url` must be a ws:\/\/ or wss:\/\/ URL/],
    [{ reconnect: { baseDelay: -1 } }, /`reconnect\.baseDelay`/],
    [{ reconnect: { maxDelay: Number.NaN } }, /`reconnect\.maxDelay`/],
    [{ reconnect: { jitter: 1.5 } }, /`reconnect\.jitter` must be a number in \[0, 1\], got 1\.5/],
    [{ reconnect: { jitter: -0.1 } }, /`reconnect\.jitter`/],
    [{ reconnect: { maxAttempts: 1.5 } }, /`reconnect\.maxAttempts`/],
    [{ reconnect: { baseDelay: 5000, maxDelay: 1000 } }, /must not be longer than/],
    [{ timeout: 0 }, /`timeout`/],
    [{ offlineQueue: -1 }, /`offlineQueue`/],
    [{ liveness: -5 }, /`liveness`/],
    [{ schemaCheck: "maybe" }, /`schemaCheck`/],
    [{ headers: { nested: { a: 1 } } }, /`headers\.nested`/],
  ];
  for (const [patch, message] of bad) {
    assert.throws(
      () => new ZocketClient({ ...base, ...patch } as ClientOptions<Record<string, unknown>>),
      (e: unknown) => e instanceof TypeError && message.test(e.message),
      JSON.stringify(patch),
    );
  }
  const ok = new ZocketClient({ ...base, reconnect: { maxAttempts: Infinity, jitter: 0 }, offlineQueue: 0 });
  ok.close();
});

test("offlineQueue: 0 fails calls made while not connected at once", async (t) => {
  const { client } = setup(t, { offlineQueue: 0 });
  const error = await client.call("t.echo", { n: 1 }).catch((e: unknown) => e);
  assert.equal((error as CallError).code, "QUEUE_FULL");
});

test("rpcIds differ between clients (a random prefix per client)", (t) => {
  const one = setup(t);
  const two = setup(t);
  one.server.last().ready();
  two.server.last().ready();
  void one.client.call("t.echo", { n: 1 }).catch(() => undefined);
  void two.client.call("t.echo", { n: 1 }).catch(() => undefined);
  const a = String(one.server.last().frames()[0]?.["rpcId"]);
  const b = String(two.server.last().frames()[0]?.["rpcId"]);
  assert.notEqual(a.split("-")[0], b.split("-")[0]);
});

test("the session store: a refused resume forgets the saved session; exhausted attempts keep it", (t) => {
  const refusedStore = memoryStore({ sessionId: "old", lastSeq: 3 });
  const refused = setup(t, { session: refusedStore });
  refused.server.last().open();
  refused.server.last().end(4403, "FORBIDDEN: not your session");
  assert.equal(refused.client.state.status, "failed");
  assert.equal(refusedStore.saved, null);

  const lostStore = memoryStore();
  const lost = setup(t, { session: lostStore, reconnect: false });
  lost.server.last().ready({ sessionId: "s7" });
  lost.server.last().end(1006);
  assert.equal(lost.client.state.status, "failed");
  assert.deepEqual(lostStore.saved, { sessionId: "s7", lastSeq: 0 });
});

test("a reload resumes the session saved by sessionStore", async (t) => {
  const items = new Map<string, string>();
  const storage = {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
  const before = setup(t, { session: sessionStore("zocket.session", storage) });
  before.server.last().ready({ sessionId: "s42", clientId: "c42" });
  before.server.last().receive({ type: "tick", payload: 1, seq: 9 });
  assert.equal(items.get("zocket.session"), '{"sessionId":"s42","lastSeq":9}');
  // The page goes away without close(); the next page's client resumes.
  const after = setup(t, { session: sessionStore("zocket.session", storage) });
  assert.deepEqual(after.server.last().protocols.slice(3), ["zocket.session.s42", "zocket.last-seq.9"]);
  after.server.last().ready({ sessionId: "s42", clientId: "c42", recovered: true });
  after.server.last().receive({ type: "tick", payload: 1, seq: 9 });
  after.server.last().receive({ type: "tick", payload: 2, seq: 10 });
  assert.deepEqual(after.ticks, [2], "the event seen before the reload is not delivered again");
  after.client.close();
  assert.equal(items.size, 0);
});

test("method() of a message route without its kind calls it (the server answers null)", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const sent = track(client.method("t.note")("hi"));
  const [frame] = socket.take();
  assert.equal(frame?.["type"], "t.note");
  assert.equal(typeof frame?.["rpcId"], "string", "no kind: sent as a call");
  await flush();
  assert.equal(sent.status, "pending");
  socket.receive({ type: "__rpc_res", rpcId: frame?.["rpcId"], payload: null });
  await flush();
  assert.equal(sent.status, "resolved");
});
