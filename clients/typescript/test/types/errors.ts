// Misuses of the generated Chat and Jobs clients that must NOT type-check: each is
// pinned with `@ts-expect-error`, so `npm run check` fails if any of them
// starts to compile (or if the directive's line stops erroring). Never run.

import { ZocketClient, type CallResult, type ConnectionState, type ErrorCode, type StreamMethod } from "@zocket/client";
import { createChatClient, type SendAck } from "../../fixtures/chat.js";
import { createJobsClient } from "../../fixtures/jobs.js";

export async function misuses(state: ConnectionState, r: CallResult<SendAck, ErrorCode>): Promise<void> {
  const api = createChatClient({ url: "ws://localhost:3000/ws", headers: { name: "ada" } });
  const { client } = api;

  // 1. An unknown route.
  // @ts-expect-error "chat.nope" is not a route
  await client.call("chat.nope", { room: "general" });

  // 2. An unknown route as a method.
  // @ts-expect-error "chat.nope" is not a route
  client.method("chat.nope");

  // 3. The wrong input type.
  // @ts-expect-error room is a string
  await api.chat.join({ room: 42 });

  // 4. A missing required field.
  // @ts-expect-error text is required
  await api.chat.send({ room: "general" });

  // 5. An input left out of a route that needs one.
  // @ts-expect-error chat.join needs its input
  await api.chat.join();

  // 6. An output used wrongly: SendAck.id is a number.
  const ack = await api.chat.send({ room: "general", text: "hi" });
  // @ts-expect-error id is a number, not a string
  const id: string = ack.id;
  void id;

  // 7. A field the output does not have.
  const me = await api.chat.whoami();
  // @ts-expect-error WhoAmI has no `age`
  console.log(me.age);

  // 8. An event payload used wrongly.
  api.chat.onMessage((message) => {
    // @ts-expect-error ChatMessage.id is a number
    const text: string = message.id;
    void text;
  });

  // 9. An unknown event.
  // @ts-expect-error "chat.nope" is not an event
  client.on("chat.nope", () => {});

  // 10. A listener expecting another payload.
  // @ts-expect-error the payload is a ChatMessage, not a number
  client.on("chat.message", (n: number) => n);

  // 11. A header of the wrong type.
  // @ts-expect-error name is a string
  createChatClient({ url: "ws://localhost:3000/ws", headers: { name: 3 } });

  // 12. A missing header.
  // @ts-expect-error name is required
  createChatClient({ url: "ws://localhost:3000/ws", headers: {} });

  // 13. An error code the route cannot fail with.
  // @ts-expect-error "NOPE" is not an ErrorCode: the comparison has no overlap
  if (r.ok === false && r.error.code === "NOPE") return;

  // 13b. A code of another route: `chat.send` declares NOT_IN_ROOM, `chat.join` does not.
  const joined = await api.chat.join.result({ room: "general" });
  // @ts-expect-error NOT_IN_ROOM is not among chat.join's codes
  if (!joined.ok && joined.error.code === "NOT_IN_ROOM") return;

  // 14. Reading `.value` before narrowing `ok`.
  // @ts-expect-error value exists only when ok is true
  console.log(r.value);

  // 15. A void-input route called with an argument.
  // @ts-expect-error chat.whoami takes no input
  await api.chat.whoami({ room: "general" });

  // 16. The same through client.call.
  // @ts-expect-error chat.whoami takes no input
  await client.call("chat.whoami", 1);

  // 17. A state read without narrowing its status.
  // @ts-expect-error recovered exists only on "connected"
  console.log(state.recovered);

  // 18. A status that does not exist.
  // @ts-expect-error no such status
  if (state.status === "open") return;

  // 19. An option of the wrong type.
  // @ts-expect-error timeout is a number of ms
  createChatClient({ url: "ws://localhost:3000/ws", headers: { name: "ada" }, timeout: "5s" });

  // 20. A call option that does not exist.
  // @ts-expect-error no `retries` call option
  await api.chat.whoami(undefined, { retries: 3 });

  // 21. A result's error code used as another type.
  if (!r.ok) {
    // @ts-expect-error the code is a string union
    const n: number = r.error.code;
    void n;
  }

  // 22. An unknown schemaCheck.
  // @ts-expect-error "ignore" is not a schemaCheck
  createChatClient({ url: "ws://localhost:3000/ws", headers: { name: "ada" }, schemaCheck: "ignore" });
}

// Streams: the generated Jobs client (fixtures/jobs.ts).

/** The route table of a stream without input, as zocket generates it (the generated fixtures have none). */
interface TickRoutes {
  "clock.ticks": { kind: "stream"; input: void; output: number; error: ErrorCode };
}

export async function streamMisuses(ticks: StreamMethod<void, number, ErrorCode>): Promise<void> {
  const api = createJobsClient({ url: "ws://localhost:3001/", headers: {} });
  const { client } = api;

  // S1. The wrong input type.
  // @ts-expect-error steps is a number
  api.jobs.run({ steps: "10", stepMs: 0 });

  // S2. The same through client.stream.
  // @ts-expect-error steps is a number
  client.stream("jobs.run", { steps: "10", stepMs: 0 });

  // S3. An input left out of a stream that needs one.
  // @ts-expect-error jobs.run needs its input
  api.jobs.run();

  // S3b. A missing required field.
  // @ts-expect-error stepMs is required
  api.jobs.run({ steps: 10 });

  // S4. An input given to a stream without one.
  // @ts-expect-error clock.ticks takes no input
  ticks(3);
  const clock = new ZocketClient<Record<string, never>, TickRoutes, Record<string, never>>({ url: "ws://localhost:3001/", headers: {} });
  // @ts-expect-error clock.ticks takes no input
  clock.stream("clock.ticks", 3);

  // S5. An item used as the wrong type.
  const run = api.jobs.run({ steps: 10, stepMs: 0 });
  for await (const update of run) {
    // @ts-expect-error an item is a JobUpdate, not a number
    const n: number = update;
    // @ts-expect-error `result` exists only on kind "done": narrow `kind` first
    console.log(update.result);
    // @ts-expect-error no such kind: the comparison has no overlap
    if (update.kind === "failed") return;
    if (update.kind === "progress") {
      // @ts-expect-error step is a number
      const step: string = update.step;
      void step;
    }
    void n;
  }
  for await (const token of api.jobs.answer({ text: "?", tokenMs: 0 })) {
    // @ts-expect-error Token.index is a number
    const index: string = token.index;
    void index;
  }

  // S6. An error code the stream cannot fail with.
  // @ts-expect-error "NOPE" is not among jobs.run's codes
  if (run.error?.code === "NOPE") return;

  // S7. A code of another stream: jobs.run declares BUSY, jobs.answer does not.
  const answer = api.jobs.answer({ text: "?", tokenMs: 0 });
  // @ts-expect-error BUSY is not among jobs.answer's codes
  if (answer.error?.code === "BUSY") return;

  // S8. A window of the wrong type, an option that does not exist.
  // @ts-expect-error window is a number of items
  api.jobs.run({ steps: 1, stepMs: 0 }, { window: "16" });
  // @ts-expect-error streams have no timeout
  api.jobs.run({ steps: 1, stepMs: 0 }, { timeout: 1_000 });

  // S9. A stream route as a method without its kind (it would be called, not streamed).
  // @ts-expect-error a stream route needs kind "stream"
  client.method("jobs.run");

  // S10. A call route as a stream.
  // @ts-expect-error jobs.stats is a call
  client.method("jobs.stats", "stream");
  // @ts-expect-error jobs.stats is not a stream
  client.stream("jobs.stats", undefined);

  // S11. A stream is not a promise.
  // @ts-expect-error a stream has no then()
  await api.jobs.run({ steps: 1, stepMs: 0 }).then(() => 1);

  // S12. The generated member's type: a stream method is not a call method.
  // @ts-expect-error a StreamMethod has no result()
  api.jobs.run.result({ steps: 1, stepMs: 0 });

  // S13. A call route's output is not a stream.
  // @ts-expect-error jobs.stats resolves with Stats: it cannot be iterated
  for await (const stats of api.jobs.stats()) void stats;
}
