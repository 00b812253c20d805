// The client on the platform's own WebSocket (Node's, behind
// --experimental-websocket on Node 20) against a minimal in-process
// WebSocket server (RFC 6455 framing by hand, no dependency): the
// handshake's subprotocols as the server receives them, frames both ways,
// close codes as the platform reports them.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { test } from "node:test";
import { CallError, ConnectionLostError, RefusedError, ZocketClient } from "@zocket/client";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** One upgraded connection, seen from the server. */
class Peer {
  readonly protocols: string[];
  readonly frames: unknown[] = [];
  closeCode: number | null = null;
  #buffer = Buffer.alloc(0);

  constructor(
    readonly request: IncomingMessage,
    readonly socket: Socket,
  ) {
    this.protocols = String(request.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p !== "");
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("error", () => {});
  }

  send(frame: unknown): void {
    this.socket.write(encodeFrame(0x1, Buffer.from(JSON.stringify(frame))));
  }

  /** A close frame, then the end of the TCP connection. */
  close(code: number, reason: string): void {
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.socket.end(encodeFrame(0x8, payload));
  }

  #read(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      const opcode = b[0]! & 0x0f;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + 4 + length) return;
      const mask = b.subarray(offset, offset + 4);
      const payload = Buffer.from(b.subarray(offset + 4, offset + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!;
      this.#buffer = b.subarray(offset + 4 + length);
      if (opcode === 0x1) this.frames.push(JSON.parse(payload.toString("utf8")));
      if (opcode === 0x8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.socket.end(encodeFrame(0x8, payload.subarray(0, 2)));
      }
    }
  }
}

function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const head =
    payload.length < 126
      ? Buffer.from([0x80 | opcode, payload.length])
      : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, payload]);
}

/** A server upgrading every request to `zocket.v1`; `onPeer` plays the zocket server. */
async function listen(onPeer: (peer: Peer) => void): Promise<{ url: string; peers: Peer[]; server: Server }> {
  const peers: Peer[] = [];
  const server = createServer((_, response) => response.writeHead(426).end());
  server.on("upgrade", (request: IncomingMessage, socket: Socket) => {
    const key = String(request.headers["sec-websocket-key"]);
    const accept = createHash("sha1").update(key + GUID).digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: zocket.v1\r\n\r\n`,
    );
    const peer = new Peer(request, socket);
    peers.push(peer);
    onPeer(peer);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}/ws`, peers, server };
}

/** Waits (real time) until `condition` holds. */
async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const platform = typeof (globalThis as { WebSocket?: unknown }).WebSocket === "function";
const skip = platform ? false : "no platform WebSocket (Node 20: run with --experimental-websocket)";

test("on the platform WebSocket: subprotocols, ready, a call, an event, close(1000)", { skip }, async (t) => {
  const { url, peers, server } = await listen((peer) =>
    peer.send({
      type: "__ready",
      payload: { clientId: "c1", sessionId: "s1", protocolVersion: 1, recovered: false },
    }),
  );
  t.after(() => server.close());
  const client = new ZocketClient({ url, headers: { name: "Ada Lovelacé", age: 36 } });
  t.after(() => client.close());
  await client.ready();
  const peer = peers[0]!;
  assert.equal(peer.request.url, "/ws");
  assert.deepEqual(peer.protocols.slice(0, 2), ["zocket.v1", "zocket.refusals"]);
  const headers = peer.protocols[2]!;
  assert.ok(headers.startsWith("zocket.headers."));
  assert.deepEqual(JSON.parse(Buffer.from(headers.slice(15), "base64url").toString("utf8")), {
    name: "Ada Lovelacé",
    age: 36,
  });
  assert.equal(peer.protocols.length, 3);

  const events: unknown[] = [];
  client.on("chat.message", (payload) => events.push(payload));
  const reply = client.call("chat.whoami", undefined);
  await until(() => peer.frames.length === 1, "the call");
  const frame = peer.frames[0] as { type: string; rpcId: string };
  assert.equal(frame.type, "chat.whoami");
  assert.ok(!("payload" in frame));
  peer.send({ type: "__rpc_res", rpcId: frame.rpcId, payload: { name: "ada" } });
  peer.send({ type: "chat.message", payload: { text: "hi" }, seq: 1 });
  assert.deepEqual(await reply, { name: "ada" });
  await until(() => events.length === 1, "the event");
  assert.deepEqual(events, [{ text: "hi" }]);
  assert.deepEqual(client.session, { sessionId: "s1", lastSeq: 1 });

  client.close();
  await until(() => peer.closeCode !== null, "the close frame");
  assert.equal(peer.closeCode, 1000);
});

test("on the platform WebSocket: a refusal close (4401) fails with RefusedError, no retry", { skip }, async (t) => {
  const { url, peers, server } = await listen((peer) => peer.close(4401, "UNAUTHORIZED: log in first"));
  t.after(() => server.close());
  const client = new ZocketClient({ url, headers: { name: "ada" }, reconnect: { baseDelay: 10 } });
  t.after(() => client.close());
  const error = await client.ready().catch((e: unknown) => e);
  assert.ok(error instanceof RefusedError, String(error));
  assert.equal(error.closeCode, 4401);
  assert.equal(error.status, 401);
  assert.equal(error.code, "UNAUTHORIZED");
  assert.equal(error.message, "log in first");
  // Failed is final (no retry is scheduled; the unit tests check it on a mocked clock).
  assert.equal(client.state.status, "failed");
  assert.equal(peers.length, 1);
});

test("on the platform WebSocket: a dropped connection is resumed with the session in the subprotocols", { skip }, async (t) => {
  const { url, peers, server } = await listen((peer) => {
    const resumed = peers.length > 1;
    peer.send({
      type: "__ready",
      payload: { clientId: "c1", sessionId: "s1", protocolVersion: 1, recovered: resumed },
    });
  });
  t.after(() => server.close());
  const client = new ZocketClient({ url, headers: { name: "ada" }, reconnect: { baseDelay: 10, jitter: 0 } });
  t.after(() => client.close());
  const statuses: string[] = [];
  client.onState((state) => statuses.push(state.status));
  await client.ready();
  const first = peers[0]!;
  first.send({ type: "tick", payload: 1, seq: 7 });
  const call = client.call("slow", { n: 1 });
  await until(() => first.frames.length === 1, "the call");
  const sent = first.frames[0] as { rpcId: string };
  first.socket.destroy();
  await until(() => peers.length === 2 && client.state.status === "connected", "the resume");
  const second = peers[1]!;
  assert.deepEqual(second.protocols.slice(3), ["zocket.session.s1", "zocket.last-seq.7"]);
  assert.deepEqual(statuses, ["connected", "disconnected", "reconnecting", "connecting", "connected"]);
  await until(() => second.frames.length === 1, "the resent call");
  assert.deepEqual(second.frames[0], sent);
  second.send({ type: "__rpc_err", rpcId: sent.rpcId, error: { code: "REPLY_LOST", message: "gone", path: null, data: null } });
  const error = await call.catch((e: unknown) => e);
  assert.ok(error instanceof CallError && error.code === "REPLY_LOST");
});

test("on the platform WebSocket: a handshake that fails (nothing listens, or the peer resets) is retried with backoff, not after connectTimeout", { skip, timeout: 20_000 }, async (t) => {
  // A port nothing listens on, and a server that resets each connection.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const resetting = createServer();
  resetting.on("connection", (socket: Socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve) => resetting.listen(0, "127.0.0.1", resolve));
  t.after(() => resetting.close());
  const resettingPort = (resetting.address() as AddressInfo).port;

  for (const port of [closedPort, resettingPort]) {
    const client = new ZocketClient({
      url: `ws://127.0.0.1:${port}/ws`,
      headers: { name: "ada" },
      connectTimeout: 20_000,
      reconnect: { baseDelay: 10, maxDelay: 10, jitter: 0, maxAttempts: 2 },
    });
    t.after(() => client.close());
    const statuses: string[] = [];
    client.onState((state) => statuses.push(state.status));
    const started = Date.now();
    const error = await client.ready().catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    assert.ok(error instanceof ConnectionLostError, `port ${port}: ${String(error)}`);
    assert.equal(error.attempts, 2);
    assert.equal(error.closeCode, 1006);
    assert.ok(elapsed < 5_000, `port ${port}: failed after ${elapsed} ms (connectTimeout is 20 000)`);
    assert.deepEqual(statuses, [
      "disconnected",
      "reconnecting",
      "connecting",
      "disconnected",
      "reconnecting",
      "connecting",
      "disconnected",
      "failed",
    ]);
  }
});
