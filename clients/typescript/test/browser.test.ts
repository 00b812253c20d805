// The chat page (examples/chat/web/index.html, served by the real chat
// server with the generated client and the runtime) in a real headless
// Chromium, driven by playwright-core: two users chatting, refusals and
// the page's own checks, a server restart, a reload that resumes the
// session, a network drop through the fault-injecting proxy.
//
// Chromium is /usr/bin/chromium (or $CHROMIUM); no browser is downloaded.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test, type TestContext } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { startChatServer } from "./support/servers.js";
import { Proxy } from "./support/proxy.js";

const CHROMIUM = process.env["CHROMIUM"] ?? "/usr/bin/chromium";
const ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Chromium, closed when `t` ends (before the server: launch it first). */
async function launch(t: TestContext): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM=/path/to/chromium`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
  t.after(() => browser.close());
  return browser;
}

/** One user: a page in a fresh browser context, with what went wrong in it. */
interface User {
  readonly name: string;
  readonly page: Page;
  /** Uncaught exceptions (`pageerror`): the test fails on any. */
  readonly uncaught: string[];
  /** Console errors (the browser's own WebSocket failures among them). */
  readonly consoleErrors: string[];
  /** Every frame the page's WebSockets sent, as text. */
  readonly sent: string[];
  /** The URL of every WebSocket the page opened. */
  readonly sockets: string[];
}

async function open(t: TestContext, browser: Browser, url: string, name: string): Promise<User> {
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const user: User = { name, page, uncaught: [], consoleErrors: [], sent: [], sockets: [] };
  page.on("pageerror", (error) => user.uncaught.push(`${error.name}: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const where = message.location().url;
    user.consoleErrors.push(where === "" ? message.text() : `${message.text()} (${where})`);
  });
  page.on("websocket", (ws) => {
    user.sockets.push(ws.url());
    ws.on("framesent", (frame) => {
      if (typeof frame.payload === "string") user.sent.push(frame.payload);
    });
  });
  await page.goto(`${url}/`);
  return user;
}

/** Fails on uncaught exceptions in any page; console errors other than WebSocket failures too. */
function checkPages(t: TestContext, users: User[]): void {
  for (const user of users) {
    assert.deepEqual(user.uncaught, [], `uncaught exceptions in ${user.name}'s page`);
    // The browser's own reports of a WebSocket that failed (the server was
    // down), and of the favicon the chat server does not have.
    const unexpected = user.consoleErrors.filter(
      (text) => !/WebSocket connection to .* failed/.test(text) && !/404 \(Not Found\) \(http:\/\/[^/]+\/favicon\.ico\)$/.test(text),
    );
    assert.deepEqual(unexpected, [], `console errors in ${user.name}'s page`);
    if (user.consoleErrors.length > 0) t.diagnostic(`${user.name}'s console: ${user.consoleErrors.join(" | ")}`);
  }
}

/** The page's status (`#state[data-status]`). */
function status(user: User): Promise<string | null> {
  return user.page.locator("#state").getAttribute("data-status");
}

async function waitForStatus(user: User, wanted: string, timeout = 10_000): Promise<void> {
  await user.page.waitForFunction(
    (wanted) => document.getElementById("state")?.dataset["status"] === wanted,
    wanted,
    { timeout },
  );
}

/** Waits for a `.sys` line equal to `text` (the `count`th one). */
async function waitForSystem(user: User, text: string, count = 1, timeout = 10_000): Promise<void> {
  await user.page.waitForFunction(
    ([text, count]) => Array.from(document.querySelectorAll("#log .sys")).filter((l) => l.textContent === text).length >= count,
    [text, count] as const,
    { timeout },
  );
}

/** The chat lines of the log, in order. */
function messages(user: User): Promise<{ time: string; from: string; text: string }[]> {
  return user.page.evaluate(() =>
    Array.from(document.querySelectorAll("#log .msg")).map((line) => ({
      time: line.querySelector(".time")?.textContent ?? "",
      from: line.querySelector(".from")?.textContent ?? "",
      text: line.querySelector(".text")?.textContent ?? "",
    })),
  );
}

/** The `.sys` lines of the log, in order. */
function systemLines(user: User): Promise<string[]> {
  return user.page.evaluate(() => Array.from(document.querySelectorAll("#log .sys")).map((line) => line.textContent ?? ""));
}

/** Waits for a chat line from `from` with exactly `text`. */
async function waitForMessage(user: User, from: string, text: string, timeout = 10_000): Promise<void> {
  await user.page.waitForFunction(
    ([from, text]) =>
      Array.from(document.querySelectorAll("#log .msg")).some(
        (line) => line.querySelector(".from")?.textContent === from && line.querySelector(".text")?.textContent === text,
      ),
    [from, text] as const,
    { timeout },
  );
}

/** Enters the name and the room, joins, and waits for the page to say so. */
async function join(user: User, room: string): Promise<void> {
  await user.page.fill("#name", user.name);
  await user.page.fill("#room", room);
  await user.page.click("#join");
  await waitForStatus(user, "connected");
  await waitForSystem(user, `${user.name} joined ${room}`);
}

/** Types `text` and sends it with the button. */
async function say(user: User, text: string): Promise<void> {
  await user.page.fill("#text", text);
  await user.page.click("#send");
}

/** Records every `data-status` the page's `#state` takes from now on, in `window.statuses`. */
async function recordStatuses(user: User): Promise<void> {
  await user.page.evaluate(() => {
    const el = document.getElementById("state") as HTMLElement;
    const statuses: string[] = [];
    (window as unknown as { statuses: string[] }).statuses = statuses;
    // Several changes in one task come as one batch: each record's new
    // value is the next one's old value.
    new MutationObserver((records) => {
      records.forEach((_, i) => statuses.push(records[i + 1]?.oldValue ?? el.dataset["status"] ?? ""));
    }).observe(el, { attributes: true, attributeFilter: ["data-status"], attributeOldValue: true });
  });
}

function statuses(user: User): Promise<string[]> {
  return user.page.evaluate(() => (window as unknown as { statuses: string[] }).statuses);
}

/** The `chat.send` frames a page sent, by text. */
function sentTexts(user: User): string[] {
  return user.sent
    .map((frame) => JSON.parse(frame) as { type?: string; payload?: { text?: string } })
    .filter((frame) => frame.type === "chat.send")
    .map((frame) => frame.payload?.text ?? "");
}

test("two users chat both ways: names, times, long words wrap", { timeout: 60_000 }, async (t) => {
  const browser = await launch(t);
  const server = await startChatServer(t);
  const alice = await open(t, browser, server.httpUrl, "alice");
  const bob = await open(t, browser, server.httpUrl, "bob");
  assert.equal(await status(alice), "idle");
  await join(alice, "lobby");
  await join(bob, "lobby");

  await say(alice, "hello bob");
  await waitForMessage(bob, "alice", "hello bob");
  await say(bob, "hi alice");
  await waitForMessage(alice, "bob", "hi alice");
  await waitForMessage(bob, "bob", "hi alice");
  assert.equal(await alice.page.inputValue("#text"), "", "the box is emptied once sent");

  for (const user of [alice, bob]) {
    const lines = await messages(user);
    assert.deepEqual(
      lines.map((l) => [l.from, l.text]),
      [
        ["alice", "hello bob"],
        ["bob", "hi alice"],
      ],
      `${user.name}'s log`,
    );
    for (const line of lines) assert.match(line.time, /\d{1,2}.\d{2}/, `a time in ${user.name}'s log: ${JSON.stringify(line)}`);
  }

  const word = "w".repeat(300);
  await say(alice, word);
  await waitForMessage(bob, "alice", word);
  for (const user of [alice, bob]) {
    await waitForMessage(user, "alice", word);
    const sizes = await user.page.evaluate((word) => {
      const log = document.getElementById("log") as HTMLElement;
      const line = Array.from(log.querySelectorAll(".msg")).find((l) => l.querySelector(".text")?.textContent === word) as HTMLElement;
      return { line: line.scrollWidth, lineHeight: line.getBoundingClientRect().height, log: log.clientWidth, logScroll: log.scrollWidth };
    }, word);
    assert.ok(sizes.line <= sizes.log, `${user.name}: the line (${sizes.line}px) fits the log (${sizes.log}px)`);
    assert.ok(sizes.logScroll <= sizes.log, `${user.name}: the log does not scroll sideways (${sizes.logScroll}px > ${sizes.log}px)`);
    assert.ok(sizes.lineHeight > 40, `${user.name}: the word wraps over several lines (${sizes.lineHeight}px high)`);
  }
  assert.equal(await alice.page.textContent("#error"), "");
  checkPages(t, [alice, bob]);
});

/** Eve, with a name one character too long, tries to join. */
async function refused(t: TestContext): Promise<User> {
  const browser = await launch(t);
  const server = await startChatServer(t);
  const eve = await open(t, browser, server.httpUrl, "e".repeat(33));
  await recordStatuses(eve);
  await eve.page.fill("#name", eve.name);
  await eve.page.click("#join");
  await eve.page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "") !== "");
  return eve;
}

test("a refused name (33 characters) shows the reason in #error; the page does not retry", { timeout: 60_000 }, async (t) => {
  const eve = await refused(t);
  const error = (await eve.page.textContent("#error")) ?? "";
  assert.match(error, /^refused: .*\bname\b/, `#error: ${error}`);
  assert.match(error, /at most 32 characters/);
  const seen = await statuses(eve);
  // Connecting, then failed: never a retry.
  assert.deepEqual(seen, ["connecting", "failed"], `statuses: ${seen.join(", ")}`);
  assert.equal(await eve.page.isVisible("#login"), true, "the login form stays");
  assert.equal(await eve.page.evaluate(() => sessionStorage.getItem("chat.name")), null, "nothing to resume on a reload");
  // The page closed its failed client, and a closed client schedules no
  // retry (the unit tests check that on a mocked clock): one socket.
  assert.equal(await eve.page.evaluate(() => document.getElementById("state")?.dataset["status"]), "failed");
  assert.equal(eve.sockets.length, 1, `one WebSocket: ${eve.sockets.join(", ")}`);
  // And the page is usable again at once: a valid name joins.
  await eve.page.fill("#name", "eve");
  await eve.page.click("#join");
  await waitForStatus(eve, "connected");
  assert.equal(eve.sockets.length, 2, `a new WebSocket for the new name: ${eve.sockets.join(", ")}`);
  checkPages(t, [eve]);
});

test(
  "after a refusal #state keeps showing failed",
  { timeout: 60_000 },
  async (t) => {
    const eve = await refused(t);
    assert.equal(await status(eve), "failed", `#state: ${await eve.page.textContent("#state")}; statuses ${(await statuses(eve)).join(", ")}`);
  },
);

test(
  "the message form is hidden until joined",
  { timeout: 60_000 },
  async (t) => {
    const browser = await launch(t);
    const server = await startChatServer(t);
    const ada = await open(t, browser, server.httpUrl, "ada");
    assert.equal(await ada.page.isVisible("#say"), false, "the message form before joining");
    await join(ada, "form");
    assert.equal(await ada.page.isVisible("#say"), true);
    await ada.page.click("#leave");
    assert.equal(await ada.page.isVisible("#say"), false, "the message form after leaving");
  },
);

test("over-long (2001 characters) and empty messages show an error and are not sent", { timeout: 60_000 }, async (t) => {
  const browser = await launch(t);
  const server = await startChatServer(t);
  const alice = await open(t, browser, server.httpUrl, "alice");
  const bob = await open(t, browser, server.httpUrl, "bob");
  await join(alice, "checks");
  await join(bob, "checks");

  const long = "x".repeat(2001);
  await say(alice, long);
  await alice.page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "") !== "");
  assert.equal(await alice.page.textContent("#error"), "too long: 2001 characters (at most 2000); nothing was sent");
  assert.equal(await alice.page.inputValue("#text"), long, "the text stays to be shortened");
  // A later message arrives: the long one, had it been sent, would have come first.
  await say(alice, "after the long one");
  await waitForMessage(bob, "alice", "after the long one");
  assert.equal(await alice.page.textContent("#error"), "", "the error is cleared by a send");

  for (const empty of ["", "   "]) {
    await say(alice, empty);
    await alice.page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "") !== "");
    assert.equal(await alice.page.textContent("#error"), "write something first");
    await say(alice, `after ${JSON.stringify(empty)}`);
    await waitForMessage(bob, "alice", `after ${JSON.stringify(empty)}`);
  }

  // At the limit, it goes.
  const longest = "y".repeat(2000);
  await say(alice, longest);
  await waitForMessage(bob, "alice", longest);
  await waitForMessage(alice, "alice", longest);

  const expected = ["after the long one", 'after ""', 'after "   "', longest];
  assert.deepEqual((await messages(bob)).map((m) => m.text), expected, "bob got only the valid messages");
  assert.deepEqual((await messages(alice)).map((m) => m.text), expected);
  assert.deepEqual(sentTexts(alice), expected, "the page sent only the valid messages");
  checkPages(t, [alice, bob]);
});

test("a server restart: both pages reconnect on their own, join again and chat both ways", { timeout: 60_000 }, async (t) => {
  const browser = await launch(t);
  const server = await startChatServer(t);
  const alice = await open(t, browser, server.httpUrl, "alice");
  const bob = await open(t, browser, server.httpUrl, "bob");
  await join(alice, "restart");
  await join(bob, "restart");
  await say(alice, "before");
  await waitForMessage(bob, "alice", "before");
  for (const user of [alice, bob]) await recordStatuses(user);

  await server.restart();
  for (const user of [alice, bob]) {
    await waitForSystem(user, "reconnected with a new session", 1, 20_000);
    await waitForSystem(user, `${user.name} joined restart`, 2);
    await waitForStatus(user, "connected");
    const seen = await statuses(user);
    const reconnecting = seen.indexOf("reconnecting");
    assert.ok(reconnecting >= 0, `${user.name}: reconnecting was shown (${seen.join(", ")})`);
    assert.equal(seen.at(-1), "connected", `${user.name}: ${seen.join(", ")}`);
    assert.ok(seen.indexOf("connected", reconnecting) > reconnecting, `${user.name}: connected after reconnecting`);
    const sys = await systemLines(user);
    assert.ok(
      sys.some((line) => /^connection lost: retrying in \d+(\.\d)? s$/.test(line)),
      `${user.name}: the page said it was retrying (${sys.join(" | ")})`,
    );
  }

  await say(alice, "after the restart");
  await waitForMessage(bob, "alice", "after the restart");
  await say(bob, "welcome back");
  await waitForMessage(alice, "bob", "welcome back");
  assert.deepEqual(
    (await messages(alice)).map((m) => [m.from, m.text]),
    [
      ["alice", "before"],
      ["alice", "after the restart"],
      ["bob", "welcome back"],
    ],
  );
  checkPages(t, [alice, bob]);
});

test("a reload resumes the same session: welcome back, still in the room, missed messages replayed", { timeout: 60_000 }, async (t) => {
  const browser = await launch(t);
  const server = await startChatServer(t, { rustLog: "info" });
  const alice = await open(t, browser, server.httpUrl, "alice");
  const bob = await open(t, browser, server.httpUrl, "bob");
  await join(alice, "reload");
  await join(bob, "reload");
  await say(bob, "before the reload");
  await waitForMessage(alice, "bob", "before the reload");
  const session = await alice.page.evaluate(() => sessionStorage.getItem("chat.session"));
  assert.ok(session !== null, "the page saved its session");

  const mark = server.log.length;
  await alice.page.reload();
  await waitForSystem(alice, "welcome back, alice");
  await waitForStatus(alice, "connected");
  // How the browser's socket ended, as the server saw it.
  const ended = await server.waitForLog(/disconnected/, 5_000, mark);
  t.diagnostic(`server, at the reload: ${ended}`);
  assert.match(ended, /reason=(client closed \(1001|client went away|replaced)/, ended);
  assert.ok(
    server.log.slice(mark).some((line) => /connected recovered=true/.test(line)),
    `the server resumed the session:\n${server.log.slice(mark).join("\n")}`,
  );
  assert.deepEqual(await systemLines(alice), ["welcome back, alice"], "no join after a resume");
  assert.equal(
    JSON.parse(String(await alice.page.evaluate(() => sessionStorage.getItem("chat.session")))).sessionId,
    JSON.parse(session).sessionId,
    "the same session",
  );
  // Still in the room without joining again.
  await say(bob, "after the reload");
  await waitForMessage(alice, "bob", "after the reload");
  await say(alice, "back");
  await waitForMessage(bob, "alice", "back");
  // Alice has seen her own message too: nothing of hers is left to replay.
  await waitForMessage(alice, "alice", "back");

  // Away and back: what was sent meanwhile is replayed, once.
  await alice.page.goto("about:blank");
  await say(bob, "while you were away");
  await waitForMessage(bob, "bob", "while you were away");
  await alice.page.goto(`${server.httpUrl}/`);
  await waitForSystem(alice, "welcome back, alice");
  await waitForMessage(alice, "bob", "while you were away");
  await say(bob, "last");
  await waitForMessage(alice, "bob", "last");
  assert.deepEqual(
    (await messages(alice)).map((m) => [m.from, m.text]),
    [
      ["bob", "while you were away"],
      ["bob", "last"],
    ],
  );
  checkPages(t, [alice, bob]);
});

test("a network drop (proxy cut): the page resumes, nothing is missed", { timeout: 60_000 }, async (t) => {
  const browser = await launch(t);
  const server = await startChatServer(t);
  const proxy = await Proxy.start(t, server.port);
  const alice = await open(t, browser, proxy.httpUrl, "alice");
  const bob = await open(t, browser, server.httpUrl, "bob");
  await join(alice, "drop");
  await join(bob, "drop");
  await recordStatuses(alice);

  assert.ok(proxy.cut() >= 1, "alice's connection cut");
  await say(bob, "during the drop");
  await waitForSystem(alice, "reconnected: nothing was missed", 1, 20_000);
  await waitForMessage(alice, "bob", "during the drop");
  await waitForStatus(alice, "connected");
  const seen = await statuses(alice);
  assert.ok(seen.includes("reconnecting"), seen.join(", "));
  await say(alice, "still here");
  await waitForMessage(bob, "alice", "still here");
  await waitForMessage(alice, "alice", "still here");
  assert.deepEqual(
    (await messages(alice)).map((m) => m.text),
    ["during the drop", "still here"],
  );
  checkPages(t, [alice, bob]);
});
