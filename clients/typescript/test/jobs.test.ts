// End to end, streams: the generated jobs client (fixtures/jobs.ts,
// compiled) on Node's WebSocket against the real jobs server
// (examples/jobs, `cargo build -p jobs`, run with `--serve`): a job's
// progress then its result, a loop left halfway (the server's handler
// stopped), a validation error, an answer token by token, the job's own
// error code, and a long stream read through a proxy that drops the
// connection again and again.

import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { CallError, type ClientOptions } from "@zocket/client";
import { createJobsClient, type JobUpdate, type JobsApi, type NoHeaders, type Stats, type Token } from "../fixtures/jobs.js";
import { Proxy } from "./support/proxy.js";
import { startJobsServer } from "./support/servers.js";
import { recordStates, within } from "./support/wait.js";

/** A jobs client: the typed API, its states, its warnings. */
interface Jobs {
  api: JobsApi;
  states: ReturnType<typeof recordStates>;
  warnings: string[];
}

/** A jobs client on `url` (quick reconnections), closed when `t` ends. */
function jobsClient(t: TestContext, url: string, options: Partial<ClientOptions<NoHeaders>> = {}): Jobs {
  const warnings: string[] = [];
  const api = createJobsClient({
    url,
    headers: {},
    reconnect: { baseDelay: 10, maxDelay: 50, jitter: 0.2, maxAttempts: 20 },
    logger: { warn: (message) => void warnings.push(message) },
    ...options,
  });
  const states = recordStates(api.client);
  t.after(() => api.client.close());
  return { api, states, warnings };
}

/** Connected, within 5 s. */
async function connected(who: Jobs): Promise<void> {
  await within(who.api.client.ready(), 5_000, "the client to connect");
}

/** A job of `steps` steps' items: each step's progress, then the sum of 1..steps. */
function jobItems(steps: number): JobUpdate[] {
  const items: JobUpdate[] = Array.from({ length: steps }, (_, i) => ({ kind: "progress", step: i + 1, of: steps }));
  items.push({ kind: "done", result: (steps * (steps + 1)) / 2 });
  return items;
}

/**
 * Polls `jobs.stats` (at most `attempts` times, `pause` ms apart) until
 * `settled` holds; fails with the last stats otherwise.
 */
async function statsUntil(api: JobsApi, settled: (stats: Stats) => boolean, what: string, attempts = 200, pause = 10): Promise<Stats> {
  let stats: Stats | null = null;
  for (let attempt = 0; attempt < attempts; attempt++) {
    stats = await within(api.jobs.stats(), 5_000, "jobs.stats");
    if (settled(stats)) return stats;
    await delay(pause);
  }
  assert.fail(`${what}: not after ${attempts} polls; the last stats: ${JSON.stringify(stats)}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test("a job streams each step's progress in order, then done with the sum of its steps", { timeout: 20_000 }, async (t) => {
  const server = await startJobsServer(t);
  const jobs = jobsClient(t, server.wsUrl);
  await connected(jobs);
  const items: JobUpdate[] = [];
  const run = jobs.api.jobs.run({ steps: 10, stepMs: 1 });
  await within(
    (async () => {
      for await (const update of run) items.push(update);
    })(),
    10_000,
    "the job's items and its end",
  );
  assert.deepEqual(items, jobItems(10));
  assert.equal(run.error, null);
  // The handler ended before its reply was sent.
  assert.deepEqual(await jobs.api.jobs.stats(), { running: 0, finished: 1, stopped: 0 });

  // A bigger one, granting one item at a time.
  const one: JobUpdate[] = [];
  for await (const update of jobs.api.jobs.run({ steps: 40, stepMs: 0 }, { window: 1 })) one.push(update);
  assert.deepEqual(one, jobItems(40));
  assert.deepEqual(await jobs.api.jobs.stats(), { running: 0, finished: 2, stopped: 0 });
  assert.deepEqual(jobs.warnings, [], "no warning (the fixture's schema hash is the server's)");
});

test("breaking out of the loop halfway cancels the job on the server: its handler is stopped, not finished", { timeout: 20_000 }, async (t) => {
  const server = await startJobsServer(t, { rustLog: "info" });
  const jobs = jobsClient(t, server.wsUrl);
  await connected(jobs);
  // One job to its end first: `finished` is 1, and must stay 1.
  for await (const update of jobs.api.jobs.run({ steps: 3, stepMs: 0 })) void update;
  const before = await jobs.api.jobs.stats();
  assert.deepEqual(before, { running: 0, finished: 1, stopped: 0 });

  // 200 steps of 5 ms: a second in all, left after step 50.
  const run = jobs.api.jobs.run({ steps: 200, stepMs: 5 });
  const seen: JobUpdate[] = [];
  await within(
    (async () => {
      for await (const update of run) {
        seen.push(update);
        if (update.kind === "progress" && update.step === 50) break;
      }
    })(),
    10_000,
    "50 steps",
  );
  assert.deepEqual(seen, jobItems(200).slice(0, 50));
  assert.equal(run.error, null, "left by the application: no error");
  const stats = await statsUntil(jobs.api, (s) => s.running === 0 && s.stopped === 1, "the handler stopped");
  assert.deepEqual(stats, { running: 0, finished: before.finished, stopped: 1 });
  await server.waitForLog(/stopped before its end: the client cancelled.*what="job"/);
  // Nothing more of it reaches the application; the connection goes on.
  assert.equal(seen.length, 50);
  assert.deepEqual(jobs.api.client.state, { status: "connected", recovered: false, clientId: jobs.api.client.clientId });
  const again: JobUpdate[] = [];
  for await (const update of jobs.api.jobs.run({ steps: 2, stepMs: 0 })) again.push(update);
  assert.deepEqual(again, jobItems(2));
});

test("an invalid input (steps: 0) ends the iteration with a VALIDATION CallError, before any item", { timeout: 20_000 }, async (t) => {
  const server = await startJobsServer(t);
  const jobs = jobsClient(t, server.wsUrl);
  await connected(jobs);
  const run = jobs.api.jobs.run({ steps: 0, stepMs: 0 });
  const items: JobUpdate[] = [];
  const error = await within(
    (async () => {
      for await (const update of run) items.push(update);
    })().then(
      () => assert.fail("the iteration must throw"),
      (e: unknown) => e,
    ),
    5_000,
    "the stream's error",
  );
  assert.ok(error instanceof CallError, String(error));
  assert.equal(error.code, "VALIDATION");
  assert.equal(error.path, "steps", error.message);
  assert.deepEqual(items, []);
  assert.equal(run.error, error, "the stream's error is the one thrown");
  // The handler never ran.
  assert.deepEqual(await jobs.api.jobs.stats(), { running: 0, finished: 0, stopped: 0 });
  // The connection goes on.
  const ok: JobUpdate[] = [];
  for await (const update of jobs.api.jobs.run({ steps: 1, stepMs: 0 })) ok.push(update);
  assert.deepEqual(ok, jobItems(1));
});

test("an answer token by token: numbered from 0, reassembled into the answer", { timeout: 20_000 }, async (t) => {
  const server = await startJobsServer(t);
  const jobs = jobsClient(t, server.wsUrl);
  await connected(jobs);
  const question = "what is a stream?";
  const read = async (window?: number): Promise<Token[]> => {
    const tokens: Token[] = [];
    const answer = jobs.api.jobs.answer({ text: question, tokenMs: 1 }, window === undefined ? {} : { window });
    await within(
      (async () => {
        for await (const token of answer) tokens.push(token);
      })(),
      10_000,
      "the answer",
    );
    return tokens;
  };
  const tokens = await read();
  assert.ok(tokens.length > 10, `${tokens.length} tokens`);
  assert.deepEqual(
    tokens.map((token) => token.index),
    tokens.map((_, i) => i),
  );
  for (const token of tokens.slice(1)) assert.match(token.text, /^ \S+$/, "each token after the first: a space, a word");
  const text = tokens.map((token) => token.text).join("");
  assert.ok(text.startsWith(`You asked "${question}".`), text);
  // One token at a time: the same answer.
  assert.deepEqual(await read(1), tokens);
  assert.deepEqual(await jobs.api.jobs.stats(), { running: 0, finished: 2, stopped: 0 });
});

test("a job refused with its own code: BUSY with its data, while 64 jobs run", { timeout: 30_000 }, async (t) => {
  const server = await startJobsServer(t);
  // 16 streams at most per connection: four clients hold 64 long jobs.
  const holders = Array.from({ length: 4 }, () => jobsClient(t, server.wsUrl));
  await Promise.all(holders.map(connected));
  const held = holders.flatMap((holder) => Array.from({ length: 16 }, () => holder.api.jobs.run({ steps: 1000, stepMs: 10_000 })));
  const jobs = jobsClient(t, server.wsUrl);
  await connected(jobs);
  await statsUntil(jobs.api, (s) => s.running === 64, "64 jobs running");

  const busy = jobs.api.jobs.run({ steps: 1, stepMs: 0 });
  const error = await within(
    busy[Symbol.asyncIterator]()
      .next()
      .then(
        (result) => assert.fail(`no item expected: ${JSON.stringify(result)}`),
        (e: unknown) => e,
      ),
    5_000,
    "the BUSY error",
  );
  assert.ok(error instanceof CallError, String(error));
  assert.equal(error.code, "BUSY");
  assert.deepEqual(error.data, { running: 64 });
  assert.equal(busy.error?.code, "BUSY");

  // Cancelled, the held jobs stop; a job runs again.
  for (const stream of held) stream.cancel();
  await statsUntil(jobs.api, (s) => s.running === 0, "the held jobs stopped");
  const items: JobUpdate[] = [];
  for await (const update of jobs.api.jobs.run({ steps: 2, stepMs: 0 })) items.push(update);
  assert.deepEqual(items, jobItems(2));
  assert.deepEqual(await jobs.api.jobs.stats(), { running: 0, finished: 1, stopped: 64 });
});

test("300 items read through drops every 37 items: the session resumes each time, every item once, in order, then done", { timeout: 60_000 }, async (t) => {
  const server = await startJobsServer(t);
  const proxy = await Proxy.start(t, server.port);
  // Every `__item` number as it comes off the wire, replays included.
  const wire: number[] = [];
  class Counting extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener("message", (event: MessageEvent) => {
        const frame = JSON.parse(String(event.data)) as { type?: unknown; n?: unknown };
        if (frame.type === "__item" && typeof frame.n === "number") wire.push(frame.n);
      });
    }
  }
  const jobs = jobsClient(t, `ws://127.0.0.1:${proxy.port}/`, { WebSocket: Counting });
  await connected(jobs);
  const clientId = jobs.api.client.clientId;
  const STEPS = 300;
  const EVERY = 37;
  const items: JobUpdate[] = [];
  let cuts = 0;
  await within(
    (async () => {
      for await (const update of jobs.api.jobs.run({ steps: STEPS, stepMs: 0 })) {
        items.push(update);
        if (items.length % EVERY === 0) {
          assert.equal(proxy.cut(), 1, `the cut after ${items.length} items`);
          cuts += 1;
        }
      }
    })(),
    30_000,
    `the ${STEPS} items`,
  );
  const expected = jobItems(STEPS);
  if (JSON.stringify(items) !== JSON.stringify(expected)) {
    const steps = items.map((u) => (u.kind === "progress" ? u.step : `done ${u.result}`));
    assert.fail(`${items.length} items of ${expected.length}: ${steps.join(",")}`);
  }
  assert.equal(cuts, Math.floor(STEPS / EVERY));
  // Each cut a drop, each drop a resumed session.
  await jobs.states.until((states) => states.filter((s) => s.status === "connected").length > cuts, "the last reconnection");
  const connects = jobs.states.items.filter((s) => s.status === "connected");
  assert.deepEqual(
    connects,
    [
      { status: "connected", recovered: false, clientId },
      ...Array.from({ length: cuts }, () => ({ status: "connected", recovered: true, clientId })),
    ],
    "every reconnection resumed the session",
  );
  const drops = jobs.states.items.filter((s) => s.status === "disconnected");
  assert.equal(drops.length, cuts);
  for (const drop of drops) assert.equal(drop.status === "disconnected" && drop.code, 1006);
  assert.equal(proxy.accepted, cuts + 1);
  // The job ran once, to its end.
  assert.deepEqual(await jobs.api.jobs.stats(), { running: 0, finished: 1, stopped: 0 });
  assert.deepEqual(jobs.warnings, []);
  // The server replayed the items received but not yet acknowledged at
  // each drop: the client saw some twice and delivered them once.
  const replayed = wire.length - new Set(wire).size;
  assert.ok(replayed > 0, `no item came twice: ${wire.length} on the wire`);
  assert.deepEqual([...new Set(wire)].sort((a, b) => a - b), expected.map((_, i) => i + 1), "every item on the wire");
  t.diagnostic(`${items.length} items (${wire.length} on the wire, ${replayed} replayed), ${cuts} drops, ${proxy.accepted} connections`);
});
