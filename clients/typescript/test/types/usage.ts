// Correct uses of the generated Chat and Jobs clients: this file must type-check
// (`npm run check`); it is never run.

import {
  CallError,
  RefusedError,
  ZocketClient,
  sessionStore,
  type CallResult,
  type ConnectionState,
  type ErrorCode,
  type StreamMethod,
  type Unsubscribe,
  type ZocketStream,
} from "@zocket/client";
import { createChatClient, schemaHash, type ChatMessage, type SendAck, type WhoAmI } from "../../fixtures/chat.js";
import {
  createJobsClient,
  type JobInput,
  type JobUpdate,
  type JobsApi,
  type JobsRoutes,
  type Question,
  type Stats,
  type Token,
} from "../../fixtures/jobs.js";

export async function usage(): Promise<void> {
  const api = createChatClient({
    url: "wss://chat.example/ws",
    headers: { name: "ada" },
    timeout: 5_000,
    reconnect: { maxAttempts: 10, baseDelay: 500, maxDelay: 10_000, jitter: 0.2 },
    offlineQueue: 256,
    liveness: 30_000,
    session: sessionStore(),
    schemaCheck: "refuse",
    logger: { warn: (message) => console.warn(message) },
  });
  const s: string = schemaHash;
  void s;

  // Calls: inputs, outputs, options.
  const joined: null = await api.chat.join({ room: "general" });
  void joined;
  await api.chat.leave({ room: "general" }, { timeout: 1_000 });
  const ack: SendAck = await api.chat.send({ room: "general", text: "hi" });
  const id: number = ack.id;
  void id;
  const me: WhoAmI = await api.chat.whoami();
  const rooms: string[] = me.rooms;
  void rooms;
  const controller = new AbortController();
  await api.chat.whoami(undefined, { signal: controller.signal });

  // Results: narrowed by `ok`, error codes typed.
  const result: CallResult<SendAck, ErrorCode | "NOT_IN_ROOM"> = await api.chat.send.result({ room: "general", text: "hi" });
  if (result.ok) {
    const n: number = result.value.id;
    void n;
  } else {
    const code: ErrorCode | "NOT_IN_ROOM" = result.error.code;
    // The definition's own codes are part of the union.
    if (result.error.code === "NOT_IN_ROOM") {
      const data: unknown = result.error.data;
      void data;
    }
    if (result.error.code === "FORBIDDEN" || result.error.code === "QUEUE_FULL" || result.error.code === "TIMEOUT") {
      const path: string | null = result.error.path;
      const data: unknown = result.error.data;
      void path, data;
    }
    void code;
  }
  try {
    await api.chat.send({ room: "general", text: "hi" });
  } catch (error) {
    if (error instanceof CallError && error.code === "LIMIT_EXCEEDED") console.log(error.data);
  }

  // Events.
  const stop: Unsubscribe = api.chat.onMessage((message: ChatMessage) => {
    const from: string = message.from;
    const n: number = message.id;
    void from, n;
  });
  stop();
  const off = api.client.on("chat.message", (message) => console.log(message.text.toUpperCase()));
  off();

  // The connection.
  const client: ZocketClient<{ name: string }, import("../../fixtures/chat.js").ChatRoutes, import("../../fixtures/chat.js").ChatEvents> =
    api.client;
  const state: ConnectionState = client.state;
  switch (state.status) {
    case "connected": {
      const recovered: boolean = state.recovered;
      const clientId: string = state.clientId;
      void recovered, clientId;
      break;
    }
    case "disconnected": {
      const code: number = state.code;
      const reason: string = state.reason;
      void code, reason;
      break;
    }
    case "reconnecting": {
      const delay: number = state.delay + state.attempt + state.maxAttempts;
      void delay;
      break;
    }
    case "failed":
      if (state.error instanceof RefusedError) {
        const status: number | null = state.error.status;
        const code: string | null = state.error.code;
        void status, code;
      }
      break;
    case "connecting":
    case "closed":
      break;
  }
  client.onState((next) => {
    if (next.status === "connected" && !next.recovered) console.log("resynchronise");
  })();
  await client.ready();
  const cid: string | null = client.clientId;
  const session = client.session;
  if (session !== null) {
    const seq: number = session.lastSeq;
    void seq;
  }
  void cid;
  const output: WhoAmI = await client.call("chat.whoami");
  const ack2: SendAck = await client.call("chat.send", { room: "r", text: "t" }, { timeout: 10 });
  void output, ack2;
  client.close();

  // An untyped client: any route and event by name.
  const raw = new ZocketClient({ url: "ws://localhost:3000/ws", headers: { name: "ada", age: 36 } });
  const anything: unknown = await raw.call("whatever.route", { any: "input" });
  await raw.send("some.message", [1, 2, 3]);
  raw.on("some.event", (payload: unknown) => console.log(payload));
  void anything;
}

// Streams: the generated Jobs client (fixtures/jobs.ts), the typed
// client, an untyped one.
export async function streams(): Promise<void> {
  const api: JobsApi = createJobsClient({ url: "ws://localhost:3001/", headers: {} });
  const controller = new AbortController();
  const input: JobInput = { steps: 10, stepMs: 50 };
  const run: ZocketStream<JobUpdate, ErrorCode | "BUSY"> = api.jobs.run(input, { window: 32, signal: controller.signal });
  try {
    for await (const update of run) {
      // The items are a tagged union, narrowed by `kind`.
      switch (update.kind) {
        case "progress": {
          const step: number = update.step;
          const of: number = update.of;
          if (2 * step > of) break;
          continue;
        }
        case "done": {
          const result: number = update.result;
          void result;
          continue;
        }
      }
      break;
    }
  } catch (error) {
    // The stream's own error, typed by the route's codes.
    if (run.error?.code === "BUSY" || run.error?.code === "CANCELLED") console.log(run.error.message, run.error.data);
    else if (error instanceof CallError) console.log(error.code);
  }
  run.cancel();

  // A second stream route: its items, read one at a time.
  const question: Question = { text: "what is a stream?", tokenMs: 30 };
  let text = "";
  for await (const token of api.jobs.answer(question)) text += token.text;
  const answer: ZocketStream<Token, ErrorCode> = api.jobs.answer(question, { window: 1 });
  const iterator: AsyncIterator<Token, void, undefined> = answer[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done !== true) {
    const index: number = first.value.index;
    text += first.value.text;
    void index;
  }
  await iterator.return?.();
  void text;

  // A call route next to the streams.
  const stats: Stats = await api.jobs.stats();
  const counts: number = stats.running + stats.finished + stats.stopped;
  void counts;

  // Through the client: method() and stream().
  const { client } = api;
  const method: StreamMethod<JobInput, JobUpdate, ErrorCode | "BUSY"> = client.method("jobs.run", "stream");
  const again: ZocketStream<JobUpdate, ErrorCode | "BUSY"> = client.stream("jobs.run", { steps: 1, stepMs: 0 });
  const tokens: ZocketStream<Token, ErrorCode> = client.stream("jobs.answer", { text: "?", tokenMs: 0 });
  const stats2: Stats = await client.call("jobs.stats");
  void method, again, tokens, stats2;
  const routes: JobsRoutes["jobs.run"]["kind"] = "stream";
  void routes;

  // A stream route without input (the generated fixtures have none; the
  // route table is the shape zocket generates): the input may be left out.
  const clock = new ZocketClient<Record<string, never>, TickRoutes, Record<string, never>>({ url: "ws://localhost:3001/", headers: {} });
  for await (const tick of clock.stream("clock.ticks")) console.log(tick.toFixed(0));
  const ticks: StreamMethod<void, number, ErrorCode> = clock.method("clock.ticks", "stream");
  const oneByOne: ZocketStream<number, ErrorCode> = ticks(undefined, { window: 1 });
  ticks().cancel();
  oneByOne.cancel();

  // Untyped: any route by name; the items are unknown.
  const raw = new ZocketClient({ url: "ws://localhost:3001/", headers: {} });
  for await (const item of raw.stream("jobs.run", { steps: 3, stepMs: 0 }, { window: 4 })) {
    const unknownItem: unknown = item;
    void unknownItem;
  }
  const open = raw.method("jobs.run", "stream");
  const s: ZocketStream<unknown, string> = open({ steps: 3, stepMs: 0 });
  s.cancel();
}

/** The route table of a stream without input, as zocket generates it. */
interface TickRoutes {
  "clock.ticks": { kind: "stream"; input: void; output: number; error: ErrorCode };
}
