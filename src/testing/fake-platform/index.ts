/**
 * A faithful fake of the Claude Managed Agents API for tests: a real HTTP server on loopback that an
 * unmodified `@anthropic-ai/sdk` client talks to through `baseURL`, with a scriptable agent, real MCP calls,
 * SSE streams and fault injection. See docs/testing/fake-platform.md.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Faults } from "./faults.js";
import { McpCaller } from "./mcp.js";
import { Router } from "./router.js";
import { registerRoutes } from "./routes.js";
import { Runtime } from "./runtime.js";
import { ScriptBook } from "./scripts.js";
import { createRequestListener } from "./server.js";
import { StreamHub } from "./sse.js";
import { Store } from "./store.js";
import type {
  FakeAgentScript,
  FakeEvent,
  FakePlatformFaults,
  FakePlatformOptions,
  FakeRecordedRequest,
  FakeSessionState,
  FakeWaitOptions,
} from "./types.js";

export { MANAGED_AGENTS_BETA } from "./server.js";
export type {
  FakeAgentScript,
  FakeAutoDecision,
  FakeBuiltinToolName,
  FakeContentBlock,
  FakeCustomToolUseStep,
  FakeDropOpenStreamsOptions,
  FakeDropStreamsOptions,
  FakeEmitStep,
  FakeErrorStep,
  FakeEvent,
  FakeFailRequestsOptions,
  FakeFaultHandle,
  FakeMcpToolUseStep,
  FakeMessageStep,
  FakeParallelToolUseStep,
  FakePlatformFaults,
  FakePlatformOptions,
  FakeRecordedRequest,
  FakeScriptStep,
  FakeSessionState,
  FakeStreamDropMode,
  FakeThinkingStep,
  FakeToolUseStep,
  FakeTurnContext,
  FakeWaitOptions,
  FakeWaitStep,
} from "./types.js";

/** A running fake platform. Create it with {@link createFakePlatform}; always `await close()` it. */
export interface FakePlatform {
  /** The base URL to give the SDK: `new Anthropic({ apiKey: fake.apiKey, baseURL: fake.url })`. */
  readonly url: string;
  /** The API key the fake accepts. */
  readonly apiKey: string;
  /** Fault injection: cut streams, fail requests. */
  readonly faults: FakePlatformFaults;
  /** Every request received, oldest first, with the status it was answered with. Live array; do not mutate. */
  readonly requests: readonly FakeRecordedRequest[];
  /**
   * Scripts what the agent does on each `user.message` of one session (`sesn_…`) or of every session of one
   * agent (`agent_…`). A session script beats an agent script, which beats the default. `null` removes it.
   * Takes effect from the next turn.
   */
  script(target: string, script: FakeAgentScript | null): void;
  /** Replaces the script of sessions with no session or agent script. */
  setDefaultScript(script: FakeAgentScript): void;
  /** A snapshot of a session (including archived and deleted ones), or `undefined` if it never existed. */
  session(id: string): FakeSessionState | undefined;
  /** Snapshots of every session, oldest first. */
  sessions(): FakeSessionState[];
  /** The current wire object of an agent, or `undefined`. */
  agent(id: string): Record<string, unknown> | undefined;
  /**
   * Resolves with the first event of the session's history (past or future) that matches: a `type`, or a
   * predicate. Rejects after `timeoutMs` (default 5000) with the types seen so far.
   */
  waitForEvent(
    sessionId: string,
    match: string | ((event: FakeEvent) => boolean),
    options?: FakeWaitOptions,
  ): Promise<FakeEvent>;
  /**
   * Resolves when the session has no work in flight: no turn playing and nothing queued. A turn parked in
   * `requires_action`, a terminated and a deleted session all count as settled.
   */
  settled(sessionId: string, options?: FakeWaitOptions): Promise<FakeSessionState>;
  /** Empties the request log. */
  clearRequests(): void;
  /** Stops every turn, ends every stream, closes MCP clients and the server. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a fake Managed Agents platform on `127.0.0.1` (an ephemeral port by default).
 *
 * @example
 * const fake = await createFakePlatform();
 * const client = new Anthropic({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0 });
 * fake.script(agent.id, [{ type: "tool_use", name: "bash", input: { command: "ls" } }]);
 * // … create a session, open the stream, send a user.message …
 * await fake.close();
 */
export async function createFakePlatform(options: FakePlatformOptions = {}): Promise<FakePlatform> {
  const apiKey = options.apiKey ?? "sk-ant-fake-platform";
  const store = new Store(options.now ?? (() => new Date()));
  const hub = new StreamHub(options.heartbeatMs ?? 15_000);
  const faults = new Faults((afterFrames, mode, sessionId) => hub.armOpen(afterFrames, mode, sessionId));
  hub.faults = faults;
  const scripts = new ScriptBook();
  if (options.defaultScript) scripts.defaultScript = options.defaultScript;
  const mcp = new McpCaller(options.mcpTimeoutMs ?? 10_000);
  const runtime = new Runtime(store, hub, mcp, scripts);
  const router = new Router();
  registerRoutes({ router, store, runtime, hub, defaultPageSize: options.defaultPageSize ?? 20 });
  const requests: FakeRecordedRequest[] = [];

  const server = createServer(createRequestListener({ apiKey, router, faults, ids: store.ids, requests }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  const record = (id: string) => store.sessions.get(id);
  const state = (id: string) => {
    const rec = record(id);
    return rec ? runtime.stateOf(rec) : undefined;
  };

  // Pending waitForEvent/settled calls, rejected on close so no test hangs on a closed fake.
  const waiters = new Set<(error: Error) => void>();

  /** Resolves when `check` passes, re-checking after every event of the session. */
  const until = <T>(sessionId: string, check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const first = check();
      if (first !== undefined) return resolve(first);
      if (closing) return reject(new Error("The fake platform is closed"));
      const stop = (error?: Error) => {
        clearTimeout(timer);
        unsubscribe();
        waiters.delete(stop);
        if (error) reject(error);
      };
      const timer = setTimeout(() => {
        const seen = record(sessionId)?.events.map((e) => e.type) ?? [];
        stop(
          new Error(`Timed out after ${timeoutMs} ms waiting for ${what} on ${sessionId}; saw [${seen.join(", ")}]`),
        );
      }, timeoutMs);
      const unsubscribe = runtime.onEvent(sessionId, () => {
        // Re-check after the emitting code finished its synchronous work.
        queueMicrotask(() => {
          const value = check();
          if (value === undefined) return;
          stop();
          resolve(value);
        });
      });
      waiters.add(stop);
    });

  return {
    url: `http://${host}:${address.port}`,
    apiKey,
    faults,
    requests,
    script: (target, script) => scripts.set(target, script),
    setDefaultScript: (script) => {
      scripts.defaultScript = script;
    },
    session: state,
    sessions: () => store.sorted(store.sessions.values(), "asc").map((rec) => runtime.stateOf(rec)),
    agent: (id) => store.agents.get(id)?.current,
    waitForEvent(sessionId, match, waitOptions = {}) {
      const test = typeof match === "string" ? (e: FakeEvent) => e.type === match : match;
      const what = typeof match === "string" ? `a ${match} event` : "a matching event";
      // Scan only what is new since the last check: a long script would otherwise make waiting quadratic.
      let scanned = 0;
      const check = () => {
        const events = record(sessionId)?.events ?? [];
        for (; scanned < events.length; scanned++) {
          const event = events[scanned] as FakeEvent;
          if (test(event)) return event;
        }
        return undefined;
      };
      return until(sessionId, check, waitOptions.timeoutMs ?? 5000, what);
    },
    settled(sessionId, waitOptions = {}) {
      const check = () => {
        const rec = record(sessionId);
        if (!rec) return undefined;
        const busy = !rec.deleted && ((rec.turn !== null && !rec.turn.parked) || rec.queue.length > 0);
        return busy ? undefined : runtime.stateOf(rec);
      };
      return until(sessionId, check, waitOptions.timeoutMs ?? 5000, "the session to settle");
    },
    clearRequests: () => {
      requests.length = 0;
    },
    close() {
      closing ??= (async () => {
        runtime.closed = true;
        for (const stop of [...waiters]) stop(new Error("The fake platform was closed"));
        for (const rec of store.sessions.values()) {
          rec.turn?.abort();
          rec.turn = null;
        }
        hub.closeAll();
        await mcp.closeAll();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}
