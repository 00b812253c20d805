import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { CallError, ZocketClient, type ClientOptions, type ZocketStream } from "@zocket/client";
import { fakeServer, flush, recordingLogger, track } from "./fake.js";

interface Progress {
  percent: number;
}
interface TestRoutes {
  "jobs.run": { kind: "stream"; input: { steps: number }; output: Progress; error: "BUSY" | "CANCELLED" | "CONNECTION_LOST" | "CLOSED" };
  "jobs.ticks": { kind: "stream"; input: void; output: number; error: "CLOSED" };
  "jobs.status": { kind: "call"; input: void; output: string; error: "CLOSED" };
}
type Options = Partial<ClientOptions<Record<string, never>>>;

function setup(t: TestContext, options: Options = {}) {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const server = fakeServer();
  const logger = recordingLogger();
  const client = new ZocketClient<Record<string, never>, TestRoutes, Record<string, never>>({
    url: "ws://h/ws",
    headers: {},
    WebSocket: server.WebSocket,
    logger,
    random: () => 0.5,
    reconnect: { baseDelay: 10, jitter: 0 },
    ...options,
  });
  t.after(() => client.close());
  return { client, server, logger };
}

/** Iterates `stream` in the background, recording its items and how it ended. */
function consume<T>(stream: ZocketStream<T, string>, stopAfter = Infinity) {
  const seen = { items: [] as T[], status: "running" as "running" | "done" | "threw", error: undefined as unknown };
  void (async () => {
    try {
      for await (const item of stream) {
        seen.items.push(item);
        if (seen.items.length >= stopAfter) break;
      }
      seen.status = "done";
    } catch (error) {
      seen.status = "threw";
      seen.error = error;
    }
  })();
  return seen;
}

function item(rpcId: unknown, n: number, percent: number) {
  return { type: "__item", rpcId, n, payload: { percent } };
}

function credit(rpcId: unknown, received: number, window: number) {
  return { type: "__credit", rpcId, payload: { received, window } };
}

test("a stream writes its open frame, then a grant of 16; items come in order and the reply ends the loop", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const run = client.stream("jobs.run", { steps: 3 });
  const [open, grant, ...rest] = socket.take();
  const id = open?.["rpcId"];
  assert.match(String(id), /^[0-9a-f]{16}-\d+$/);
  assert.deepEqual(open, { type: "jobs.run", payload: { steps: 3 }, rpcId: id });
  assert.deepEqual(grant, credit(id, 0, 16));
  assert.equal(socket.sent[1], `{"type":"__credit","rpcId":"${String(id)}","payload":{"received":0,"window":16}}`);
  assert.deepEqual(rest, []);
  // Items before the application iterates wait in the stream.
  socket.receive(item(id, 1, 10));
  socket.receive(item(id, 2, 20));
  const seen = consume(run);
  await flush();
  assert.deepEqual(seen.items, [{ percent: 10 }, { percent: 20 }]);
  assert.deepEqual(socket.take(), [credit(id, 2, 16)], "waiting with nothing buffered after taking 2: a grant");
  socket.receive(item(id, 3, 30));
  await flush();
  assert.deepEqual(seen.items, [{ percent: 10 }, { percent: 20 }, { percent: 30 }]);
  assert.equal(seen.status, "running");
  assert.deepEqual(socket.take(), [credit(id, 3, 16)]);
  socket.receive({ type: "__rpc_res", rpcId: id, payload: null });
  await flush();
  assert.equal(seen.status, "done");
  assert.equal(run.error, null);
  assert.deepEqual(socket.take(), [], "every item acknowledged already: no final ack, no cancel");
});

test("a new grant each time the application has taken half the window", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const run = client.stream("jobs.run", { steps: 9 }, { window: 4 });
  const [open, grant] = socket.take();
  const id = open?.["rpcId"];
  assert.deepEqual(grant, credit(id, 0, 4));
  const iterator = run[Symbol.asyncIterator]();
  for (let n = 1; n <= 4; n++) socket.receive(item(id, n, n));
  assert.deepEqual(socket.take(), [], "received is not taken: no grant yet");
  assert.deepEqual(await iterator.next(), { done: false, value: { percent: 1 } });
  assert.deepEqual(socket.take(), []);
  assert.deepEqual(await iterator.next(), { done: false, value: { percent: 2 } });
  assert.deepEqual(socket.take(), [credit(id, 2, 4)]);
  assert.deepEqual(await iterator.next(), { done: false, value: { percent: 3 } });
  assert.deepEqual(socket.take(), []);
  // An item delivered to a waiting next() counts as taken too.
  assert.deepEqual(await iterator.next(), { done: false, value: { percent: 4 } });
  assert.deepEqual(socket.take(), [credit(id, 4, 4)]);
  const waiting = iterator.next();
  socket.receive(item(id, 5, 5));
  assert.deepEqual(await waiting, { done: false, value: { percent: 5 } });
  socket.receive(item(id, 6, 6));
  assert.deepEqual(await iterator.next(), { done: false, value: { percent: 6 } });
  assert.deepEqual(socket.take(), [credit(id, 6, 4)]);
  // A window of 1: a grant per item.
  const one = client.stream("jobs.ticks", undefined, { window: 1 });
  const [openOne, grantOne] = socket.take();
  const oneId = openOne?.["rpcId"];
  assert.deepEqual(openOne, { type: "jobs.ticks", rpcId: oneId }, "a void input sends no payload");
  assert.deepEqual(grantOne, credit(oneId, 0, 1));
  socket.receive({ type: "__item", rpcId: oneId, n: 1, payload: 7 });
  const ones = one[Symbol.asyncIterator]();
  assert.deepEqual(await ones.next(), { done: false, value: 7 });
  assert.deepEqual(socket.take(), [credit(oneId, 1, 1)]);
});

test("breaking out of the loop sends __cancel; later items and the reply are ignored", async (t) => {
  const { client, server, logger } = setup(t);
  const socket = server.last();
  socket.ready();
  const run = client.stream("jobs.run", { steps: 5 });
  const [open] = socket.take();
  const id = open?.["rpcId"];
  const seen = consume(run, 2);
  socket.receive(item(id, 1, 1));
  socket.receive(item(id, 2, 2));
  await flush();
  assert.equal(seen.status, "done", "a break ends the loop without an error");
  assert.deepEqual(seen.items, [{ percent: 1 }, { percent: 2 }]);
  assert.deepEqual(socket.take(), [{ type: "__cancel", rpcId: id }]);
  socket.receive(item(id, 3, 3));
  socket.receive({ type: "__rpc_err", rpcId: id, error: { code: "CANCELLED", message: "cancelled", path: null, data: null } });
  await flush();
  assert.equal(run.error, null);
  assert.deepEqual(socket.take(), [], "one cancel, no grant after it");
  assert.deepEqual(logger.messages, []);
});

test("cancel() sends __cancel, drops the buffered items and ends a waiting iteration without an error", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const run = client.stream("jobs.run", { steps: 5 });
  const [open] = socket.take();
  const id = open?.["rpcId"];
  const iterator = run[Symbol.asyncIterator]();
  const waiting = track(iterator.next());
  await flush();
  assert.equal(waiting.status, "pending");
  run.cancel();
  await flush();
  assert.deepEqual(waiting.value, { done: true, value: undefined });
  assert.deepEqual(socket.take(), [{ type: "__cancel", rpcId: id }]);
  run.cancel();
  assert.deepEqual(socket.take(), [], "cancelling again does nothing");
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });

  // Cancelled before it is iterated: its items are dropped.
  const other = client.stream("jobs.run", { steps: 5 });
  const [openOther] = socket.take();
  socket.receive(item(openOther?.["rpcId"], 1, 1));
  other.cancel();
  assert.deepEqual(socket.take(), [{ type: "__cancel", rpcId: openOther?.["rpcId"] }]);
  const seen = consume(other);
  await flush();
  assert.deepEqual(seen.items, []);
  assert.equal(seen.status, "done");
});

test("an aborted signal sends __cancel and rejects the iteration with CANCELLED", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const controller = new AbortController();
  const run = client.stream("jobs.run", { steps: 5 }, { signal: controller.signal });
  const [open] = socket.take();
  const id = open?.["rpcId"];
  socket.receive(item(id, 1, 1));
  const seen = consume(run);
  await flush();
  assert.deepEqual(seen.items, [{ percent: 1 }]);
  assert.deepEqual(socket.take(), [credit(id, 1, 16)]);
  socket.receive(item(id, 2, 2));
  controller.abort();
  await flush();
  assert.equal(seen.status, "threw");
  assert.ok(seen.error instanceof CallError);
  assert.equal(seen.error.code, "CANCELLED");
  assert.deepEqual(seen.items, [{ percent: 1 }, { percent: 2 }]);
  assert.equal(run.error?.code, "CANCELLED");
  assert.deepEqual(socket.take(), [{ type: "__cancel", rpcId: id }]);

  // Aborted already: nothing is sent; the iteration rejects at once.
  const late = client.stream("jobs.run", { steps: 1 }, { signal: controller.signal });
  assert.deepEqual(socket.take(), []);
  const error = await late[Symbol.asyncIterator]()
    .next()
    .then(
      () => assert.fail("must reject"),
      (e: unknown) => e,
    );
  assert.ok(error instanceof CallError && error.code === "CANCELLED");
});

test("__rpc_err ends the stream with its CallError, after the items received", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const run = client.method("jobs.run", "stream")({ steps: 2 });
  const [open] = socket.take();
  const id = open?.["rpcId"];
  socket.receive(item(id, 1, 50));
  socket.receive({ type: "__rpc_err", rpcId: id, error: { code: "BUSY", message: "try later", path: null, data: { retry: 3 } } });
  assert.equal(run.error?.code, "BUSY", "known as soon as the reply comes");
  const seen = consume(run);
  await flush();
  assert.deepEqual(seen.items, [{ percent: 50 }]);
  assert.equal(seen.status, "threw");
  assert.ok(seen.error instanceof CallError);
  assert.equal(seen.error.code, "BUSY");
  assert.equal(seen.error.message, "try later");
  assert.deepEqual(seen.error.data, { retry: 3 });
  assert.equal(seen.error, run.error);
  assert.deepEqual(socket.take(), [credit(id, 1, 0)], "the item received is acknowledged, once");
});

test("recovery: the open frame and the latest grant are resent; replayed items are dropped", async (t) => {
  const { client, server } = setup(t);
  const first = server.last();
  first.ready({ sessionId: "s1" });
  const run = client.stream("jobs.run", { steps: 9 }, { window: 4 });
  const [open] = first.take();
  const id = open?.["rpcId"];
  const iterator = run[Symbol.asyncIterator]();
  for (let n = 1; n <= 3; n++) first.receive(item(id, n, n));
  for (let n = 1; n <= 3; n++) assert.deepEqual(await iterator.next(), { done: false, value: { percent: n } });
  assert.deepEqual(first.take(), [credit(id, 2, 4)]);
  first.end(1006);
  t.mock.timers.tick(10);
  const second = server.last();
  assert.notEqual(second, first);
  second.ready({ sessionId: "s1", recovered: true });
  assert.deepEqual(second.take(), [open, credit(id, 2, 4)], "the open frame, then the latest grant");
  // The server replays what the client has not acknowledged (3), then goes on.
  second.receive(item(id, 3, 3));
  second.receive(item(id, 4, 4));
  second.receive(item(id, 4, 4));
  second.receive(item(id, 5, 5));
  assert.deepEqual(await iterator.next(), { done: false, value: { percent: 4 } });
  assert.deepEqual(await iterator.next(), { done: false, value: { percent: 5 } });
  assert.deepEqual(second.take(), [credit(id, 4, 4)]);
  second.receive({ type: "__rpc_res", rpcId: id, payload: null });
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  assert.deepEqual(second.take(), [credit(id, 5, 0)], "the reply: item 5 acknowledged");
});

test("a fresh session ends an open stream with CONNECTION_LOST, after its items", async (t) => {
  const { client, server } = setup(t);
  const first = server.last();
  first.ready({ sessionId: "s1" });
  const run = client.stream("jobs.run", { steps: 9 });
  const [open] = first.take();
  first.receive(item(open?.["rpcId"], 1, 1));
  first.end(1006);
  t.mock.timers.tick(10);
  const second = server.last();
  second.ready({ sessionId: "s2", recovered: false });
  assert.deepEqual(second.take(), [], "not resent on a fresh session");
  const seen = consume(run);
  await flush();
  assert.deepEqual(seen.items, [{ percent: 1 }]);
  assert.equal(seen.status, "threw");
  assert.ok(seen.error instanceof CallError);
  assert.equal(seen.error.code, "CONNECTION_LOST");
  assert.equal(seen.error.message, "the connection was lost before the reply came");
});

test("opened while not connected, a stream waits in the offline queue; its grant follows its open frame", async (t) => {
  const { client, server } = setup(t, { offlineQueue: 2 });
  const status = track(client.call("jobs.status"));
  const run = client.stream("jobs.run", { steps: 1 }, { window: 8 });
  const full = client.stream("jobs.ticks");
  const fullError = await full[Symbol.asyncIterator]()
    .next()
    .then(
      () => assert.fail("must reject"),
      (e: unknown) => e,
    );
  assert.ok(fullError instanceof CallError && fullError.code === "QUEUE_FULL");
  const socket = server.last();
  socket.ready();
  const [call, open, grant, ...rest] = socket.take();
  assert.equal(call?.["type"], "jobs.status");
  assert.deepEqual(open, { type: "jobs.run", payload: { steps: 1 }, rpcId: open?.["rpcId"] });
  assert.deepEqual(grant, credit(open?.["rpcId"], 0, 8));
  assert.deepEqual(rest, []);
  const seen = consume(run);
  socket.receive(item(open?.["rpcId"], 1, 100));
  socket.receive({ type: "__rpc_res", rpcId: open?.["rpcId"], payload: null });
  socket.receive({ type: "__rpc_res", rpcId: call?.["rpcId"], payload: "idle" });
  await flush();
  assert.deepEqual(seen.items, [{ percent: 100 }]);
  assert.equal(seen.status, "done");
  assert.equal(status.value, "idle");
});

test("a stream cancelled while queued is never sent; one cancelled while disconnected is cancelled on resume", async (t) => {
  const { client, server } = setup(t);
  const queued = client.stream("jobs.run", { steps: 1 });
  queued.cancel();
  const first = server.last();
  first.ready({ sessionId: "s1" });
  assert.deepEqual(first.take(), []);
  const run = client.stream("jobs.run", { steps: 2 });
  const [open] = first.take();
  first.end(1006);
  const seen = consume(run, 1);
  run.cancel();
  await flush();
  assert.equal(seen.status, "done");
  t.mock.timers.tick(10);
  const second = server.last();
  second.ready({ sessionId: "s1", recovered: true });
  assert.deepEqual(second.take(), [{ type: "__cancel", rpcId: open?.["rpcId"] }], "cancelled, not resent");
});

test("a stream given up on while disconnected sends no __cancel to a fresh session", async (t) => {
  const { client, server } = setup(t);
  server.last().ready({ sessionId: "s1" });
  const run = client.stream("jobs.run", { steps: 2 });
  server.last().end(1006);
  run.cancel();
  t.mock.timers.tick(10);
  server.last().ready({ sessionId: "s2", recovered: false });
  assert.deepEqual(server.last().take(), []);
});

test("streams have no timeout", async (t) => {
  const { client, server } = setup(t, { timeout: 100, liveness: false });
  const socket = server.last();
  socket.ready();
  const run = client.stream("jobs.run", { steps: 2 });
  const [open] = socket.take();
  const seen = consume(run);
  t.mock.timers.tick(60_000);
  await flush();
  assert.equal(seen.status, "running");
  assert.deepEqual(socket.take(), []);
  socket.receive(item(open?.["rpcId"], 1, 1));
  socket.receive({ type: "__rpc_res", rpcId: open?.["rpcId"], payload: null });
  await flush();
  assert.deepEqual(seen.items, [{ percent: 1 }]);
  assert.equal(seen.status, "done");
});

test("close() ends an open stream with CLOSED; a stream opened on a closed client fails with CLOSED", async (t) => {
  const { client, server } = setup(t);
  server.last().ready();
  const run = client.stream("jobs.run", { steps: 2 });
  const seen = consume(run);
  client.close();
  await flush();
  assert.equal(seen.status, "threw");
  assert.equal((seen.error as CallError).code, "CLOSED");
  const late = consume(client.stream("jobs.ticks"));
  await flush();
  assert.equal(late.status, "threw");
  assert.equal((late.error as CallError).code, "CLOSED");
});

test("the window option is checked with a TypeError at the call", (t) => {
  const { client, server } = setup(t);
  server.last().ready();
  for (const window of [0, -1, 1.5, Number.NaN, Infinity, "16"]) {
    assert.throws(
      () => client.stream("jobs.run", { steps: 1 }, { window: window as number }),
      (e: unknown) => e instanceof TypeError && /a stream window must be an integer >= 1/.test(e.message),
      String(window),
    );
  }
  assert.deepEqual(server.last().take(), [], "nothing sent");
  client.stream("jobs.run", { steps: 1 }, { window: 1 });
  assert.equal(server.last().take().length, 2);
});

test("a stream can be iterated once; malformed __item frames are reported and ignored", async (t) => {
  const { client, server, logger } = setup(t);
  const socket = server.last();
  socket.ready();
  const run = client.stream("jobs.run", { steps: 1 });
  const [open] = socket.take();
  const seen = consume(run);
  assert.throws(() => run[Symbol.asyncIterator](), /a stream can be iterated only once/);
  socket.receive({ type: "__item", rpcId: open?.["rpcId"], n: "1", payload: { percent: 0 } });
  socket.receive({ type: "__item", n: 1, payload: { percent: 0 } });
  socket.receive(item("unknown", 1, 0));
  socket.receive(item(open?.["rpcId"], 1, 1));
  socket.receive({ type: "__rpc_res", rpcId: open?.["rpcId"], payload: null });
  await flush();
  assert.deepEqual(seen.items, [{ percent: 1 }]);
  assert.equal(seen.status, "done");
  assert.equal(logger.messages.length, 2);
  assert.match(logger.messages[0] ?? "", /ignored a malformed __item frame/);
});

test("an untyped client opens streams by name, with stream() or method(route, \"stream\")", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const server = fakeServer();
  const client = new ZocketClient({ url: "ws://h/ws", headers: {}, WebSocket: server.WebSocket });
  t.after(() => client.close());
  server.last().ready();
  const a = consume(client.stream("any.stream", [1, 2]));
  const b = consume(client.method("other.stream", "stream")(undefined));
  const [openA, , openB, grantB] = server.last().take();
  assert.deepEqual(openA, { type: "any.stream", payload: [1, 2], rpcId: openA?.["rpcId"] });
  assert.deepEqual(openB, { type: "other.stream", rpcId: openB?.["rpcId"] });
  assert.deepEqual(grantB, credit(openB?.["rpcId"], 0, 16));
  server.last().receive({ type: "__item", rpcId: openA?.["rpcId"], n: 1, payload: "x" });
  server.last().receive({ type: "__rpc_res", rpcId: openA?.["rpcId"], payload: null });
  server.last().receive({ type: "__rpc_res", rpcId: openB?.["rpcId"], payload: null });
  await flush();
  assert.deepEqual(a.items, ["x"]);
  assert.equal(a.status, "done");
  assert.equal(b.status, "done");
});

test("the reply acknowledges the items received past the latest grant, once, with a window of 0", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  // Ended with __rpc_res, its items not taken yet: all of them acknowledged.
  const run = client.stream("jobs.run", { steps: 3 });
  const [open] = socket.take();
  const id = open?.["rpcId"];
  for (let n = 1; n <= 3; n++) socket.receive(item(id, n, n));
  assert.deepEqual(socket.take(), []);
  socket.receive({ type: "__rpc_res", rpcId: id, payload: null });
  assert.equal(socket.sent[socket.sent.length - 1], `{"type":"__credit","rpcId":"${String(id)}","payload":{"received":3,"window":0}}`);
  assert.deepEqual(socket.take(), [credit(id, 3, 0)]);
  const seen = consume(run);
  await flush();
  assert.deepEqual(seen.items.map((p) => p.percent), [1, 2, 3]);
  assert.equal(seen.status, "done");
  socket.receive({ type: "__rpc_res", rpcId: id, payload: null });
  socket.receive(item(id, 4, 4));
  assert.deepEqual(socket.take(), [], "taking the items and later frames send nothing more");

  // Ended with __rpc_err after a grant that covered part of them.
  const failing = client.stream("jobs.run", { steps: 9 }, { window: 4 });
  const [openFailing] = socket.take();
  const failingId = openFailing?.["rpcId"];
  const iterator = failing[Symbol.asyncIterator]();
  for (let n = 1; n <= 3; n++) socket.receive(item(failingId, n, n));
  await iterator.next();
  await iterator.next();
  assert.deepEqual(socket.take(), [credit(failingId, 2, 4)]);
  socket.receive({ type: "__rpc_err", rpcId: failingId, error: { code: "BUSY", message: "busy", path: null, data: null } });
  assert.deepEqual(socket.take(), [credit(failingId, 3, 0)]);
  assert.deepEqual(await iterator.next(), { done: false, value: { percent: 3 } });
  await assert.rejects(iterator.next(), (e: unknown) => e instanceof CallError && e.code === "BUSY");
  assert.deepEqual(socket.take(), []);

  // Nothing received past the latest grant (or nothing at all): no ack.
  client.stream("jobs.ticks");
  const [openEmpty] = socket.take();
  socket.receive({ type: "__rpc_res", rpcId: openEmpty?.["rpcId"], payload: null });
  assert.deepEqual(socket.take(), []);
  const one = client.stream("jobs.ticks", undefined, { window: 2 });
  const [openOne] = socket.take();
  const oneId = openOne?.["rpcId"];
  const ones = one[Symbol.asyncIterator]();
  socket.receive({ type: "__item", rpcId: oneId, n: 1, payload: 1 });
  assert.deepEqual(await ones.next(), { done: false, value: 1 });
  assert.deepEqual(socket.take(), [credit(oneId, 1, 2)]);
  socket.receive({ type: "__rpc_res", rpcId: oneId, payload: null });
  assert.deepEqual(socket.take(), []);
});

test("stopping after the reply with items unread sends no __cancel; everything received is acknowledged", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const run = client.stream("jobs.run", { steps: 5 });
  const [open] = socket.take();
  const id = open?.["rpcId"];
  for (let n = 1; n <= 5; n++) socket.receive(item(id, n, n));
  socket.receive({ type: "__rpc_res", rpcId: id, payload: null });
  const seen = consume(run, 2);
  await flush();
  assert.deepEqual(seen.items.map((p) => p.percent), [1, 2]);
  assert.equal(seen.status, "done");
  assert.deepEqual(socket.take(), [credit(id, 5, 0)], "items 3 to 5, unread, are acknowledged too");
  run.cancel();
  assert.deepEqual(socket.take(), []);

  // Cancelled before its end: __cancel, no ack (the server forgets it).
  const other = client.stream("jobs.run", { steps: 5 });
  const [openOther] = socket.take();
  const otherId = openOther?.["rpcId"];
  socket.receive(item(otherId, 1, 1));
  const early = consume(other, 1);
  await flush();
  assert.equal(early.status, "done");
  assert.deepEqual(socket.take(), [{ type: "__cancel", rpcId: otherId }]);
  socket.receive({ type: "__rpc_err", rpcId: otherId, error: { code: "CANCELLED", message: "cancelled", path: null, data: null } });
  assert.deepEqual(socket.take(), []);
});

test("waiting with nothing buffered after taking items grants at once, below half the window, once per wait", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const run = client.stream("jobs.run", { steps: 9 });
  const [open] = socket.take();
  const id = open?.["rpcId"];
  const iterator = run[Symbol.asyncIterator]();
  // Waiting before taking anything: the first grant stands.
  const first = iterator.next();
  await flush();
  assert.deepEqual(socket.take(), []);
  // The server stops after 3 items (its byte budget is full).
  for (let n = 1; n <= 3; n++) socket.receive(item(id, n, n));
  assert.deepEqual(await first, { done: false, value: { percent: 1 } });
  assert.deepEqual(await iterator.next(), { done: false, value: { percent: 2 } });
  assert.deepEqual(await iterator.next(), { done: false, value: { percent: 3 } });
  assert.deepEqual(socket.take(), [], "3 of 16 taken, with items buffered: no grant yet");
  const waiting = track(iterator.next());
  assert.deepEqual(socket.take(), [credit(id, 3, 16)], "nothing buffered: a grant for the 3 taken, at once");
  const alsoWaiting = track(iterator.next());
  await flush();
  assert.deepEqual(socket.take(), [], "once per wait");
  assert.equal(waiting.status, "pending");
  socket.receive(item(id, 4, 4));
  socket.receive(item(id, 5, 5));
  await flush();
  assert.deepEqual(waiting.value, { done: false, value: { percent: 4 } });
  assert.deepEqual(alsoWaiting.value, { done: false, value: { percent: 5 } });
  assert.deepEqual(socket.take(), [], "items given to waiting next()s: the next wait grants");
  const again = track(iterator.next());
  assert.deepEqual(socket.take(), [credit(id, 5, 16)]);
  socket.receive({ type: "__rpc_res", rpcId: id, payload: null });
  await flush();
  assert.deepEqual(again.value, { done: true, value: undefined });
  assert.deepEqual(socket.take(), [], "everything acknowledged already");
});

test("a window above the server's cap does not starve: all the items the server sent, taken, are granted again", async (t) => {
  const { client, server } = setup(t);
  const socket = server.last();
  socket.ready();
  const run = client.stream("jobs.ticks", undefined, { window: 1000 });
  const [open, grant] = socket.take();
  const id = open?.["rpcId"];
  assert.deepEqual(grant, credit(id, 0, 1000));
  // The server capped the window at 256.
  for (let n = 1; n <= 256; n++) socket.receive({ type: "__item", rpcId: id, n, payload: n });
  const seen = consume(run);
  await flush();
  assert.equal(seen.items.length, 256);
  assert.deepEqual(socket.take(), [credit(id, 256, 1000)]);
  await flush();
  assert.deepEqual(socket.take(), [], "no spinning");
});

test("a grant due while disconnected waits for the resumed session, after the open frame", async (t) => {
  const { client, server } = setup(t);
  const first = server.last();
  first.ready({ sessionId: "s1" });
  const run = client.stream("jobs.run", { steps: 9 });
  const [open] = first.take();
  const id = open?.["rpcId"];
  const iterator = run[Symbol.asyncIterator]();
  first.receive(item(id, 1, 1));
  first.end(1006);
  assert.deepEqual(await iterator.next(), { done: false, value: { percent: 1 } });
  const waiting = track(iterator.next());
  await flush();
  assert.equal(waiting.status, "pending");
  t.mock.timers.tick(10);
  const second = server.last();
  second.ready({ sessionId: "s1", recovered: true });
  assert.deepEqual(second.take(), [open, credit(id, 1, 16)]);
  second.receive(item(id, 2, 2));
  second.receive({ type: "__rpc_res", rpcId: id, payload: null });
  await flush();
  assert.deepEqual(waiting.value, { done: false, value: { percent: 2 } });
  assert.deepEqual(second.take(), [credit(id, 2, 0)]);
});
