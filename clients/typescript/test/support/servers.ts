// The real example servers as child processes for the end-to-end tests:
// the chat server (examples/chat, `cargo build -p chat`) and the jobs
// server (examples/jobs, `cargo build -p jobs`, run with `--serve`). Each
// is started on a free port (or a given one, to come back on the same
// port after a restart), its output kept line by line, stopped with
// SIGTERM (then SIGKILL), and always stopped when the test ends.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";

/** The package's directory (this file runs from `build/test/support/`). */
const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** An example server: its binary, how it is run, and how it says it listens. */
interface Example {
  /** The cargo package (and binary) name. */
  readonly name: string;
  /** The variable that overrides the binary's path. */
  readonly binaryVar: string;
  /** Its arguments. */
  readonly args: readonly string[];
  /** The line it prints once it listens, the port as its first group. */
  readonly listening: RegExp;
  /** The WebSocket path. */
  readonly wsPath: string;
}

const CHAT: Example = {
  name: "chat",
  binaryVar: "CHAT_BIN",
  args: [],
  listening: /^chat on http:\/\/127\.0\.0\.1:(\d+) /,
  wsPath: "/ws",
};

const JOBS: Example = {
  name: "jobs",
  binaryVar: "JOBS_BIN",
  args: ["--serve"],
  listening: /^jobs on ws:\/\/127\.0\.0\.1:(\d+)\/$/,
  wsPath: "/",
};

/** An example's binary: `$<binaryVar>`, or the workspace's debug build. */
function binaryOf(example: Example): string {
  return process.env[example.binaryVar] ?? resolve(PACKAGE, `../../target/debug/${example.name}`);
}

/** The chat binary: `$CHAT_BIN`, or the workspace's debug build. */
export function chatBinary(): string {
  return binaryOf(CHAT);
}

/** The jobs binary: `$JOBS_BIN`, or the workspace's debug build. */
export function jobsBinary(): string {
  return binaryOf(JOBS);
}

/** Every child still running, killed if the test process exits first. */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export interface ServerOptions {
  /** The port (0, the default, picks a free one). */
  port?: number;
  /** `RUST_LOG` (`warn` by default; `info` logs each connection and its end). */
  rustLog?: string;
  /** How long starting may take, in ms (15 000). */
  startTimeout?: number;
}

/** A running (or stopped) example server. */
export interface Server {
  /** Its port on 127.0.0.1 (the same after a restart). */
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the chat page is at `/`. */
  readonly httpUrl: string;
  /** Its WebSocket URL: `ws://127.0.0.1:<port>/ws` (chat), `ws://127.0.0.1:<port>/` (jobs). */
  readonly wsUrl: string;
  /** Every line it printed (stdout and stderr), across restarts. */
  readonly log: string[];
  /** Whether a process is running. */
  readonly running: boolean;
  /** Stops it: `signal` (SIGTERM by default), then SIGKILL after 5 s; resolves once it exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it and starts it again on the same port. */
  restart(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves with the first line from index `from` on that matches `pattern`; rejects after `timeout` ms. */
  waitForLog(pattern: RegExp, timeout?: number, from?: number): Promise<string>;
}

interface Process {
  child: ChildProcess;
  exited: Promise<void>;
  port: number;
}

/** The chat server's options. */
export type ChatServerOptions = ServerOptions;
/** A chat server. */
export type ChatServer = Server;

/**
 * Starts the chat server, stopped when `t` ends. Fails with "build it
 * first: cargo build -p chat" when the binary is missing.
 */
export function startChatServer(t: TestContext, options: ServerOptions = {}): Promise<Server> {
  return startServer(t, CHAT, options);
}

/**
 * Starts the jobs server (`jobs --serve`), stopped when `t` ends. Fails
 * with "build it first: cargo build -p jobs" when the binary is missing.
 */
export function startJobsServer(t: TestContext, options: ServerOptions = {}): Promise<Server> {
  return startServer(t, JOBS, options);
}

async function startServer(t: TestContext, example: Example, options: ServerOptions): Promise<Server> {
  const what = `the ${example.name} server`;
  const binary = binaryOf(example);
  if (!existsSync(binary)) {
    throw new Error(
      `no ${example.name} server at ${binary}: build it first: cargo build -p ${example.name} (or set ${example.binaryVar})`,
    );
  }
  const rustLog = options.rustLog ?? "warn";
  const startTimeout = options.startTimeout ?? 15_000;
  const log: string[] = [];
  const lineWaiters = new Set<() => void>();
  let current: Process | null = null;

  const launch = async (port: number): Promise<Process> => {
    const child = spawn(binary, example.args, {
      env: { ...process.env, PORT: String(port), RUST_LOG: rustLog },
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    const exited = new Promise<void>((resolveExit) => {
      child.once("exit", () => {
        running.delete(child);
        resolveExit();
      });
      child.once("error", () => {
        running.delete(child);
        resolveExit();
      });
    });
    return await new Promise<Process>((resolveStart, rejectStart) => {
      let done = false;
      const finish = (outcome: { port: number } | { error: Error }): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if ("port" in outcome) resolveStart({ child, exited, port: outcome.port });
        else {
          child.kill("SIGKILL");
          rejectStart(outcome.error);
        }
      };
      const timer = setTimeout(
        () => finish({ error: new Error(`${what} did not start within ${startTimeout} ms:\n${log.join("\n")}`) }),
        startTimeout,
      );
      const onLine = (line: string): void => {
        log.push(line);
        for (const wake of [...lineWaiters]) wake();
        const match = example.listening.exec(line);
        if (match !== null) finish({ port: Number(match[1]) });
      };
      for (const stream of [child.stdout, child.stderr]) {
        let rest = "";
        stream?.setEncoding("utf8");
        stream?.on("data", (chunk: string) => {
          const lines = (rest + chunk).split("\n");
          rest = lines.pop() ?? "";
          for (const line of lines) onLine(line);
        });
      }
      child.once("error", (error) => finish({ error }));
      child.once("exit", (code, signal) =>
        finish({ error: new Error(`${what} exited (${signal ?? code}) before listening:\n${log.join("\n")}`) }),
      );
    });
  };

  const stopProcess = async (proc: Process, signal: NodeJS.Signals): Promise<void> => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(signal);
    if (await exitedWithin(proc, 5_000)) return;
    proc.child.kill("SIGKILL");
    if (!(await exitedWithin(proc, 5_000))) throw new Error(`${what} (pid ${proc.child.pid}) did not exit after SIGKILL`);
  };

  current = await launch(options.port ?? 0);
  const port = current.port;

  const server: Server = {
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}${example.wsPath}`,
    log,
    get running() {
      return current !== null && current.child.exitCode === null && current.child.signalCode === null;
    },
    async stop(signal = "SIGTERM") {
      const proc = current;
      current = null;
      if (proc !== null) await stopProcess(proc, signal);
    },
    async restart(signal = "SIGTERM") {
      await server.stop(signal);
      // The port was just released; binding again may briefly fail.
      const end = Date.now() + startTimeout;
      for (;;) {
        try {
          current = await launch(port);
          return;
        } catch (error) {
          if (!/in use/.test(String(error)) || Date.now() > end) throw error;
          await delay(50);
        }
      }
    },
    waitForLog(pattern, timeout = 5_000, from = 0) {
      return new Promise<string>((resolveLine, rejectLine) => {
        const check = (): boolean => {
          const line = log.slice(from).find((l) => pattern.test(l));
          if (line === undefined) return false;
          lineWaiters.delete(wake);
          clearTimeout(timer);
          resolveLine(line);
          return true;
        };
        const wake = (): void => void check();
        const timer = setTimeout(() => {
          lineWaiters.delete(wake);
          rejectLine(new Error(`no server log line matching ${String(pattern)} within ${timeout} ms`));
        }, timeout);
        lineWaiters.add(wake);
        check();
      });
    },
  };
  t.after(() => server.stop());
  return server;
}

/** Whether `proc` exits within `ms` (the timer does not outlive the wait). */
async function exitedWithin(proc: Process, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(false), ms);
  });
  try {
    return await Promise.race([proc.exited.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolveDelay) => setTimeout(resolveDelay, ms));
}
