// A typed client with stream routes, in the shape zocket generates (as
// `fixtures/chat.ts` is), for the type tests of streams. Never run.

import * as zocket from "@zocket/client";

/** Input of `jobs.run`. */
export interface RunJob {
  /** How many steps. */
  steps: number;
}

/** An item of `jobs.run`. */
export interface Progress {
  /** Done so far, 0 to 100. */
  percent: number;
}

/** Every route of the API by name: its kind, input, output and error codes. */
export interface JobsRoutes {
  "jobs.run": { kind: "stream"; input: RunJob; output: Progress; error: zocket.ErrorCode | "BUSY" };
  "jobs.ticks": { kind: "stream"; input: void; output: number; error: zocket.ErrorCode };
  "jobs.status": { kind: "call"; input: void; output: string; error: zocket.ErrorCode };
  "jobs.log": { kind: "message"; input: string; output: null; error: zocket.ErrorCode };
}

/** The typed client of the `Jobs` API. */
export interface JobsApi {
  jobs: {
    /** Runs a job, streaming its progress. */
    run: zocket.StreamMethod<RunJob, Progress, zocket.ErrorCode | "BUSY">;
    /** A tick per second. */
    ticks: zocket.StreamMethod<void, number, zocket.ErrorCode>;
    /** The status. */
    status: zocket.CallMethod<void, string, zocket.ErrorCode>;
    /** Logs a line. */
    log: zocket.MessageMethod<string>;
  };
  /** The connection. */
  client: zocket.ZocketClient<Record<string, never>, JobsRoutes, Record<string, never>>;
}

/** Connects to a server of the `Jobs` API. */
export function createJobsClient(options: zocket.ClientOptions<Record<string, never>>): JobsApi {
  const client = new zocket.ZocketClient<Record<string, never>, JobsRoutes, Record<string, never>>(options);
  return {
    jobs: {
      run: client.method("jobs.run", "stream"),
      ticks: client.method("jobs.ticks", "stream"),
      status: client.method("jobs.status"),
      log: client.method("jobs.log", "message"),
    },
    client: client,
  };
}
