// The parent side of fake-platform-child.ts: a fake Managed Agents platform in its own process, on loopback.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { VargateGovernor } from "../../../src/governor.js";
import { kyselyStorageFromUrl } from "../../../src/storage/kysely/index.js";
import { anthropicUpstream } from "../../../src/upstream/anthropic.js";
import { benchLogger } from "../../lib/sessions.js";

export type ChildCommand =
  | { type: "script"; toolUses: number; gated: boolean }
  | { type: "release" }
  | { type: "dump"; sessionId: string; path: string }
  | { type: "stats" }
  | { type: "close" };

export type ChildReply =
  | { type: "ready"; url: string; apiKey: string }
  | { type: "ok" }
  | { type: "settled"; events: number; ms: number }
  | { type: "stats"; sessions: number; openStreams: number }
  | { type: "error"; message: string };

export interface RemoteFakePlatform {
  readonly url: string;
  readonly apiKey: string;
  /** Every turn plays `toolUses` bash uses; when `gated`, only after `release()`. */
  script(toolUses: number, gated: boolean): Promise<void>;
  /** Lets gated turns play; resolves when every session settled, with the platform's event count and time. */
  release(): Promise<{ events: number; ms: number }>;
  /** Writes the session's history as SSE bytes to `path`. */
  dump(sessionId: string, path: string): Promise<void>;
  stats(): Promise<{ sessions: number; openStreams: number }>;
  close(): Promise<void>;
}

export async function startRemoteFakePlatform(): Promise<RemoteFakePlatform> {
  const child = fork(fileURLToPath(new URL("./fake-platform-child.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = (await nextReply(child)) as Extract<ChildReply, { type: "ready" }>;
  // One command at a time: replies come back in order.
  let queue: Promise<unknown> = Promise.resolve();
  const ask = <T extends ChildReply>(command: ChildCommand): Promise<T> => {
    const result = queue.then(async () => {
      const reply = nextReply(child);
      child.send(command);
      const answer = await reply;
      if (answer.type === "error") throw new Error(`fake platform: ${answer.message}`);
      return answer as T;
    });
    queue = result.catch(() => {});
    return result;
  };
  return {
    url: ready.url,
    apiKey: ready.apiKey,
    script: async (toolUses, gated) => {
      await ask({ type: "script", toolUses, gated });
    },
    release: () => ask<Extract<ChildReply, { type: "settled" }>>({ type: "release" }),
    dump: async (sessionId, path) => {
      await ask({ type: "dump", sessionId, path });
    },
    stats: () => ask<Extract<ChildReply, { type: "stats" }>>({ type: "stats" }),
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      await ask({ type: "close" }).catch(() => {});
      await exited;
    },
  };
}

/** A governor on a SQLite file whose upstream is `fake`, and that storage (the caller closes both). */
export function governorOverFake(fake: RemoteFakePlatform, file: string) {
  const storage = kyselyStorageFromUrl(file);
  const governor = new VargateGovernor({
    storage,
    upstream: anthropicUpstream({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0 }),
    sessions: { publicUrl: "http://127.0.0.1:9/gov" },
    logger: benchLogger,
  });
  return { governor, storage };
}

/** Polls `check` every `intervalMs` until it holds; throws `${what}: condition not met` after `attempts` tries. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  { intervalMs = 20, attempts }: { intervalMs?: number; attempts: number },
): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what}: condition not met`);
}

function nextReply(child: ChildProcess): Promise<ChildReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: ChildReply) => {
      child.off("exit", onExit);
      resolve(reply);
    };
    const onExit = (code: number | null) => {
      child.off("message", onMessage);
      reject(new Error(`fake platform process exited (${code})`));
    };
    child.once("message", onMessage);
    child.once("exit", onExit);
  });
}
