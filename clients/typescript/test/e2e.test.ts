// End to end: the generated chat client (fixtures/chat.ts, compiled) on
// Node's WebSocket against the real chat server (examples/chat, `cargo
// build -p chat`), through a fault-injecting TCP proxy: drops while idle
// and with calls in flight, a server restart, many drops while events
// flow, refusals.

import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { CallError, ConnectionLostError, RefusedError, type ClientOptions, type Session, type SessionStore } from "@zocket/client";
import { createChatClient, type ChatApi, type ChatHeaders, type ChatMessage, type SendAck } from "../fixtures/chat.js";
import { startChatServer } from "./support/servers.js";
import { Proxy } from "./support/proxy.js";
import { Recorder, recordStates, within } from "./support/wait.js";

/** One chat user: the typed client, its states, the messages it received, its warnings. */
interface Member {
  api: ChatApi;
  states: ReturnType<typeof recordStates>;
  messages: Recorder<ChatMessage>;
  warnings: string[];
}

/** A chat client named `name` on `url` (quick reconnections), closed when `t` ends. */
function member(t: TestContext, url: string, name: string, options: Partial<ClientOptions<ChatHeaders>> = {}): Member {
  const warnings: string[] = [];
  const api = createChatClient({
    url,
    headers: { name },
    reconnect: { baseDelay: 20, maxDelay: 200, jitter: 0.2, maxAttempts: 20 },
    logger: { warn: (message) => void warnings.push(message) },
    ...options,
  });
  const states = recordStates(api.client);
  const messages = new Recorder<ChatMessage>();
  api.chat.onMessage((message) => messages.push(message));
  t.after(() => api.client.close());
  return { api, states, messages, warnings };
}

/** Connected, within 5 s. */
async function connected(who: Member, what: string): Promise<void> {
  await within(who.api.client.ready(), 5_000, `${what} to connect`);
}

/** How often each value occurs. */
function counts<T>(values: readonly T[]): Map<T, number> {
  const map = new Map<T, number>();
  for (const value of values) map.set(value, (map.get(value) ?? 0) + 1);
  return map;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An in-memory session store. */
function memoryStore(initial: Session | null): SessionStore & { saved: Session | null } {
  const store = {
    saved: initial,
    load: () => store.saved,
    save: (session: Session) => void (store.saved = { ...session }),
    clear: () => void (store.saved = null),
  };
  return store;
}

test("a drop while idle: disconnected, reconnecting, connected{recovered:true}; same client id and rooms; a message after arrives once", { timeout: 30_000 }, async (t) => {
  const server = await startChatServer(t);
  const proxy = await Proxy.start(t, server.port);
  const ada = member(t, proxy.wsUrl, "ada");
  await connected(ada, "ada");
  await ada.api.chat.join({ room: "idle" });
  const clientId = ada.api.client.clientId;
  assert.match(String(clientId), /^[0-9a-f]{32}$/);
  assert.deepEqual(await ada.api.chat.whoami(), { clientId, name: "ada", rooms: ["idle"] });
  const sessionId = ada.api.client.session?.sessionId;

  const mark = ada.states.items.length;
  assert.equal(proxy.cut(), 1, "one connection cut");
  await ada.states.waitFor((s) => s.status === "connected", "the reconnection", 5_000, mark);
  const [lost, reconnecting, connecting, back, ...more] = ada.states.items.slice(mark);
  assert.equal(lost?.status === "disconnected" && lost.code, 1006, `a drop: ${JSON.stringify(lost)}`);
  assert.equal(reconnecting?.status === "reconnecting" && reconnecting.attempt, 1, JSON.stringify(reconnecting));
  assert.deepEqual(connecting, { status: "connecting" });
  assert.deepEqual(back, { status: "connected", recovered: true, clientId });
  assert.deepEqual(more, []);
  assert.equal(proxy.accepted, 2, "one reconnection");
  assert.equal(ada.api.client.clientId, clientId);
  assert.equal(ada.api.client.session?.sessionId, sessionId);
  assert.deepEqual(await ada.api.chat.whoami(), { clientId, name: "ada", rooms: ["idle"] });

  const ack = await ada.api.chat.send({ room: "idle", text: "after the drop" });
  const last = await ada.api.chat.send({ room: "idle", text: "and then" });
  assert.ok(last.id > ack.id);
  // Events come in order: a duplicate of the first would come before the second.
  await ada.messages.waitFor((m) => m.id === last.id, "the second message");
  assert.deepEqual(
    ada.messages.items.map((m) => [m.id, m.from, m.room, m.text]),
    [
      [ack.id, "ada", "idle", "after the drop"],
      [last.id, "ada", "idle", "and then"],
    ],
  );
  const at = ada.messages.items[0]?.at ?? 0;
  assert.ok(Math.abs(at - Date.now()) < 60_000, `the time it was accepted: ${at}`);
  assert.deepEqual(ada.warnings, [], "no warning (the fixture's schema hash is the server's)");
});

test("calls in flight during a drop: every call resolves, each ran exactly once", { timeout: 30_000 }, async (t) => {
  const server = await startChatServer(t);
  const proxy = await Proxy.start(t, server.port);
  const room = "flight";
  const ada = member(t, proxy.wsUrl, "ada");
  const bob = member(t, server.wsUrl, "bob");
  await Promise.all([connected(ada, "ada"), connected(bob, "bob")]);
  await Promise.all([ada.api.chat.join({ room }), bob.api.chat.join({ room })]);

  // The first ten reach the server and run; their replies are held on the way back.
  proxy.stall("down");
  const acks = new Map<string, SendAck>();
  const send = (i: number): Promise<SendAck> =>
    ada.api.chat.send({ room, text: `flight ${i}` }).then((ack) => {
      acks.set(`flight ${i}`, ack);
      return ack;
    });
  const first = Array.from({ length: 10 }, (_, i) => send(i));
  await bob.messages.waitForCount(10, "messages of the first ten calls at bob");
  assert.equal(acks.size, 0, "no reply got through");
  // The next ten never reach the server.
  proxy.stall("both");
  const second = Array.from({ length: 10 }, (_, i) => send(10 + i));

  const mark = ada.states.items.length;
  assert.equal(proxy.cut(), 1);
  proxy.heal();
  const replies = await within(Promise.all([...first, ...second]), 10_000, "the 20 replies");
  assert.equal(replies.length, 20);
  const [lost, , , back] = ada.states.items.slice(mark);
  assert.equal(lost?.status === "disconnected" && lost.code, 1006);
  assert.deepEqual(back, { status: "connected", recovered: true, clientId: ada.api.client.clientId });
  assert.equal(new Set(replies.map((ack) => ack.id)).size, 20, `distinct ids: ${replies.map((a) => a.id).join(",")}`);
  const firstIds = replies.slice(0, 10).map((a) => a.id);
  const secondIds = replies.slice(10).map((a) => a.id);
  assert.ok(Math.max(...firstIds) < Math.min(...secondIds), "the second ten ran after the first");

  // A last message: any duplicate would come to bob before it.
  const end = await bob.api.chat.send({ room, text: "end" });
  await bob.messages.waitFor((m) => m.id === end.id, "the last message at bob");
  await ada.messages.waitFor((m) => m.id === end.id, "the last message at ada", 10_000);
  for (const [who, messages] of [
    ["bob", bob.messages.items],
    ["ada", ada.messages.items],
  ] as const) {
    const texts = messages.map((m) => m.text);
    assert.equal(messages.length, 21, `${who}: ${texts.join(" | ")}`);
    for (const [text, n] of counts(texts)) assert.equal(n, 1, `${who} got "${text}" ${n} times`);
    for (const m of messages.slice(0, 20)) {
      assert.equal(m.from, "ada");
      assert.equal(m.id, acks.get(m.text)?.id, `${who}: the event of "${m.text}" has the id its call returned`);
    }
    assert.deepEqual(
      messages.map((m) => m.id),
      [...messages.map((m) => m.id)].sort((a, b) => a - b),
      `${who}: in id order`,
    );
  }
});

test("a server restart on the same port: back with recovered:false and a new client id; queued calls go to the new session; chat again", { timeout: 40_000 }, async (t) => {
  const server = await startChatServer(t);
  const proxy = await Proxy.start(t, server.port);
  const room = "restart";
  const reconnect = { baseDelay: 50, maxDelay: 300, jitter: 0.2, maxAttempts: 60 };
  const ada = member(t, proxy.wsUrl, "ada", { reconnect });
  const bob = member(t, server.wsUrl, "bob", { reconnect });
  await Promise.all([connected(ada, "ada"), connected(bob, "bob")]);
  await Promise.all([ada.api.chat.join({ room }), bob.api.chat.join({ room })]);
  const before = { ada: ada.api.client.clientId, bob: bob.api.client.clientId };
  const marks = { ada: ada.states.items.length, bob: bob.states.items.length };

  // A call the server runs, whose reply it never gets out before it dies.
  proxy.stall("down");
  const inFlight = ada.api.chat.send({ room, text: "in flight at the restart" }).then(
    () => assert.fail("its reply was lost"),
    (e: unknown) => e,
  );
  await bob.messages.waitFor((m) => m.text === "in flight at the restart", "the call to run");
  // A crash: no graceful close, the reply of the call in flight is lost.
  await server.stop("SIGKILL");
  proxy.cut();
  proxy.heal();
  for (const who of [ada, bob]) {
    const { item } = await who.states.waitFor((s) => s.status === "disconnected", "the drop", 5_000, marks[who === ada ? "ada" : "bob"]);
    assert.equal(item.status === "disconnected" && item.code, 1006, JSON.stringify(item));
  }
  // Made while the server is down: queued, sent on the new session.
  const queued = ada.api.chat.whoami();
  await server.restart();

  for (const [name, who] of [
    ["ada", ada],
    ["bob", bob],
  ] as const) {
    const { item } = await who.states.waitFor((s) => s.status === "connected", `${name} back`, 15_000, marks[name]);
    assert.equal(item.status === "connected" && item.recovered, false, `${name}: a fresh session`);
    assert.equal(item.status === "connected" && item.clientId, who.api.client.clientId);
    assert.notEqual(who.api.client.clientId, before[name], `${name}: a new client id`);
    assert.ok(
      who.states.items.slice(marks[name]).some((s) => s.status === "reconnecting"),
      `${name} was reconnecting`,
    );
  }
  const lost = await within(inFlight, 5_000, "the call in flight");
  assert.ok(lost instanceof CallError, String(lost));
  assert.equal(lost.code, "CONNECTION_LOST", "a fresh session: the call in flight is not resent");
  assert.deepEqual(await within(queued, 5_000, "the queued whoami"), {
    clientId: ada.api.client.clientId,
    name: "ada",
    rooms: [],
  });

  // The new process numbers messages from 1 again: only what came since counts.
  const since = { ada: ada.messages.items.length, bob: bob.messages.items.length };
  await Promise.all([ada.api.chat.join({ room }), bob.api.chat.join({ room })]);
  const hi = await ada.api.chat.send({ room, text: "hi after the restart" });
  await bob.messages.waitFor((m) => m.id === hi.id, "ada's message at bob", 5_000, since.bob);
  const hello = await bob.api.chat.send({ room, text: "hello again" });
  await ada.messages.waitFor((m) => m.id === hello.id, "bob's message at ada", 5_000, since.ada);
  await bob.messages.waitFor((m) => m.id === hello.id, "bob's message at bob", 5_000, since.bob);
  const expected = [
    [hi.id, "ada", "hi after the restart"],
    [hello.id, "bob", "hello again"],
  ];
  assert.deepEqual(bob.messages.items.slice(since.bob).map((m) => [m.id, m.from, m.text]), expected);
  assert.deepEqual(ada.messages.items.slice(since.ada).map((m) => [m.id, m.from, m.text]), expected);
});

test("the server gone for good: failed with ConnectionLostError after maxAttempts; queued calls fail, the session is kept", { timeout: 20_000 }, async (t) => {
  const server = await startChatServer(t);
  const proxy = await Proxy.start(t, server.port);
  const ada = member(t, proxy.wsUrl, "ada", { reconnect: { baseDelay: 10, maxDelay: 40, jitter: 0, maxAttempts: 3 } });
  await connected(ada, "ada");
  const session = ada.api.client.session;
  await server.stop();
  const { item } = await ada.states.waitFor((s) => s.status === "disconnected", "the drop");
  assert.equal(item.status === "disconnected" && item.code, 1001, "a graceful shutdown");
  const queued = ada.api.chat.whoami().catch((e: unknown) => e);
  const { item: failed } = await ada.states.waitFor((s) => s.status === "failed", "failed", 5_000);
  assert.ok(failed.status === "failed" && failed.error instanceof ConnectionLostError, JSON.stringify(failed));
  assert.equal(failed.error.attempts, 3);
  assert.equal(failed.error.closeCode, 1006);
  assert.deepEqual(
    ada.states.items.filter((s) => s.status === "reconnecting").map((s) => s.status === "reconnecting" && [s.attempt, s.delay]),
    [
      [1, 10],
      [2, 20],
      [3, 40],
    ],
  );
  assert.equal(proxy.accepted, 4, "the first connection and three attempts");
  const error = await queued;
  assert.ok(error instanceof CallError && error.code === "CONNECTION_LOST", String(error));
  assert.deepEqual(ada.api.client.session, session, "kept: the server may still hold it");
});

test("50 drops while events flow: the receiver gets every message exactly once, in order", { timeout: 60_000 }, async (t) => {
  const started = Date.now();
  const server = await startChatServer(t);
  const proxy = await Proxy.start(t, server.port);
  const room = "flow";
  const sender = member(t, server.wsUrl, "sender");
  const receiver = member(t, proxy.wsUrl, "receiver", {
    reconnect: { baseDelay: 10, maxDelay: 50, jitter: 0.3, maxAttempts: 20 },
  });
  await Promise.all([connected(sender, "the sender"), connected(receiver, "the receiver")]);
  await Promise.all([sender.api.chat.join({ room }), receiver.api.chat.join({ room })]);

  // One message every 3 ms at most: under the server's rate limit (500
  // frames a second per connection, bursts of 2000), however long it runs.
  let stop = false;
  let sent = 0;
  const sending = (async () => {
    while (!stop) {
      sent += 1;
      await Promise.all([sender.api.chat.send({ room, text: String(sent) }), delay(3)]);
    }
  })();
  // A failed send fails the test when awaited below, not as an unhandled rejection.
  sending.catch(() => {});
  t.after(() => {
    stop = true;
  });

  const DROPS = 50;
  for (let drop = 1; drop <= DROPS; drop++) {
    await receiver.states.until(
      (states) => states.filter((s) => s.status === "connected").length >= drop,
      `connection ${drop} of the receiver`,
      5_000,
    );
    // Events flow on this connection before it is cut.
    const seen = receiver.messages.items.length;
    await receiver.messages.waitForCount(seen + 3, `messages before drop ${drop}`);
    assert.equal(proxy.cut(), 1, `drop ${drop} cut the receiver's connection`);
  }
  await receiver.states.until(
    (states) => states.filter((s) => s.status === "connected").length > DROPS,
    "the last reconnection",
    5_000,
  );
  stop = true;
  await within(sending, 5_000, "the sender to stop");
  const total = sent;
  await receiver.messages.waitForCount(total, "every message at the receiver", 10_000);

  const numbers = receiver.messages.items.map((m) => Number(m.text));
  const expected = Array.from({ length: total }, (_, i) => i + 1);
  if (JSON.stringify(numbers) !== JSON.stringify(expected)) {
    const dup = [...counts(numbers)].filter(([, n]) => n > 1).map(([k]) => k);
    const missing = expected.filter((n) => !numbers.includes(n));
    assert.fail(`${numbers.length} messages of ${total}: duplicates ${dup.join(",") || "none"}, missing ${missing.join(",") || "none"}`);
  }
  const connects = receiver.states.items.filter((s) => s.status === "connected");
  assert.equal(connects.length, DROPS + 1);
  assert.deepEqual(
    connects.map((s) => s.status === "connected" && s.recovered),
    [false, ...Array<boolean>(DROPS).fill(true)],
    "every reconnection resumed the session",
  );
  assert.ok(total > 3 * DROPS, `${total} messages`);
  assert.ok(proxy.accepted >= DROPS + 1);
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 30_000, `took ${elapsed} ms`);
  t.diagnostic(`${total} messages, ${DROPS} drops, ${proxy.accepted} connections, ${elapsed} ms`);
});

test("a refused name (33 characters): failed with RefusedError 4400 INVALID_HEADERS, no second attempt", { timeout: 20_000 }, async (t) => {
  const server = await startChatServer(t);
  const proxy = await Proxy.start(t, server.port);
  const eve = member(t, proxy.wsUrl, "e".repeat(33), { reconnect: { baseDelay: 10, maxDelay: 20, maxAttempts: 5 } });
  const error = await within(
    eve.api.client.ready().then(
      () => assert.fail("must not connect"),
      (e: unknown) => e,
    ),
    5_000,
    "the refusal",
  );
  assert.ok(error instanceof RefusedError, String(error));
  assert.equal(error.closeCode, 4400);
  assert.equal(error.status, 400);
  assert.equal(error.code, "INVALID_HEADERS");
  assert.match(error.message, /\bname\b/);
  assert.deepEqual(
    eve.states.items.map((s) => s.status),
    ["failed"],
  );
  assert.equal(eve.api.client.state.status === "failed" && eve.api.client.state.error, error);
  const call = await eve.api.chat.whoami().catch((e: unknown) => e);
  assert.equal((call as { code?: unknown }).code, "CLOSED");
  // Failed is final: no retry is scheduled (the unit tests check it on a
  // mocked clock); so far, one connection.
  assert.equal(proxy.accepted, 1, "one connection only");
  assert.equal(eve.api.client.session, null);
});

test("a session resumed under another name is refused with 4403; its owner keeps it", { timeout: 20_000 }, async (t) => {
  const server = await startChatServer(t);
  const proxy = await Proxy.start(t, server.port);
  const ada = member(t, proxy.wsUrl, "ada");
  await connected(ada, "ada");
  await ada.api.chat.join({ room: "mine" });
  const session = ada.api.client.session;
  assert.ok(session !== null);
  const store = memoryStore(session);
  const mallory = member(t, server.wsUrl, "mallory", { session: store });
  const error = await within(mallory.api.client.ready().catch((e: unknown) => e), 5_000, "the refusal");
  assert.ok(error instanceof RefusedError, String(error));
  assert.equal(error.closeCode, 4403);
  assert.match(error.message, /another name/);
  assert.equal(store.saved, null, "the refused session is forgotten");
  // Ada's session is still hers: a drop resumes it.
  const mark = ada.states.items.length;
  proxy.cut();
  const { item } = await ada.states.waitFor((s) => s.status === "connected", "ada back", 5_000, mark);
  assert.deepEqual(item, { status: "connected", recovered: true, clientId: ada.api.client.clientId });
  assert.deepEqual((await ada.api.chat.whoami()).rooms, ["mine"]);
});

test("a silent link: __ping keeps an idle one alive; a stalled one is dropped by liveness, and resumed once healed", { timeout: 30_000 }, async (t) => {
  const server = await startChatServer(t);
  const proxy = await Proxy.start(t, server.port);
  const LIVENESS = 600;
  const ada = member(t, proxy.wsUrl, "ada", {
    liveness: LIVENESS,
    connectTimeout: 1_000,
    reconnect: { baseDelay: 20, maxDelay: 100, jitter: 0, maxAttempts: Infinity },
  });
  await connected(ada, "ada");
  await ada.api.chat.join({ room: "quiet" });

  // Idle: the server's __pong answers each __ping (three of them: a whole
  // window and more), and the link stays up.
  const mark = ada.states.items.length;
  await within(proxy.pongsForwarded(proxy.pongs + 3), 10_000, "three pongs");
  assert.deepEqual(ada.states.items.slice(mark), [], "still connected, nothing happened");

  proxy.stall();
  const { item, index } = await ada.states.waitFor((s) => s.status === "disconnected", "the liveness drop", 5_000, mark);
  // Dropped by the liveness check itself (its reason says so).
  assert.deepEqual(item, { status: "disconnected", code: 1006, reason: `no frame within ${LIVENESS} ms` });
  // An attempt through the stalled proxy gets no __ready and times out; the next one is under way when it heals.
  const timedOut = await ada.states.waitFor((s) => s.status === "disconnected", "a timed-out attempt", 5_000, index + 1);
  assert.deepEqual(timedOut.item, { status: "disconnected", code: 1006, reason: "no __ready within 1000 ms" });
  await ada.states.waitFor((s) => s.status === "reconnecting" && s.attempt === 2, "the second attempt", 5_000, index);
  proxy.heal();
  const back = await ada.states.waitFor((s) => s.status === "connected", "the resume", 10_000, index);
  assert.deepEqual(back.item, { status: "connected", recovered: true, clientId: ada.api.client.clientId });
  assert.deepEqual((await ada.api.chat.whoami()).rooms, ["quiet"]);
  const ack = await ada.api.chat.send({ room: "quiet", text: "loud again" });
  await ada.messages.waitFor((m) => m.id === ack.id, "the message");
  assert.equal(ada.messages.items.length, 1);
  t.diagnostic(`states after the stall: ${ada.states.items.slice(index).map((s) => s.status).join(" ")}`);
});
