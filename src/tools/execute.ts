import { ConfigError } from "../errors.js";
import type { JsonValue } from "../json.js";
import { type Scrubber, scrubJson, secretScrubber } from "./scrub.js";
import type { ExecuteToolOptions, GovernedTool, ToolExecutionResult } from "./types.js";

/** 64 KiB: the default cap on a serialized tool result. */
export const DEFAULT_MAX_RESULT_BYTES = 64 * 1024;

/** Longest error message returned, in characters. */
const MAX_ERROR_CHARS = 2_000;

/**
 * Runs an allowed call of `tool` with `input` (already validated against its schema) and brokers its credentials:
 *
 * 1. Reads each credential the tool declares from the store, just before running; a missing one fails the call
 *    (naming the credential) without running the tool.
 * 2. Runs `execute` with them, the ids and a signal that aborts on `options.signal` or after `timeoutMs`.
 * 3. Scrubs every credential value from the output and from any error message (replaced by `[redacted]`), then
 *    caps the serialized output at `maxResultBytes`.
 *
 * Never rejects for a tool failure: errors, timeouts and non-JSON results come back as `{ ok: false, error }` with
 * a message safe to show the agent and to audit.
 */
export async function executeTool(
  tool: GovernedTool,
  input: unknown,
  options: ExecuteToolOptions,
): Promise<ToolExecutionResult> {
  const maxResultBytes = options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
  if (!Number.isInteger(maxResultBytes) || maxResultBytes < 1) {
    throw new ConfigError("executeTool: maxResultBytes must be a positive integer");
  }
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new ConfigError("executeTool: timeoutMs must be a positive number");
  }

  const execution = new Execution();
  const onCancel = () => execution.abort(new ToolAbort("cancelled"));
  options.signal?.addEventListener("abort", onCancel, { once: true });
  if (options.signal?.aborted) onCancel();
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => execution.abort(new ToolAbort("timeout")), options.timeoutMs);
  let scrub: Scrubber = (text) => text;
  try {
    const credentials: Record<string, string> = {};
    for (const name of tool.credentials) {
      execution.throwIfAborted();
      let secret: string | null;
      try {
        secret = await options.credentials.get(options.tenantId, name);
      } catch {
        return { ok: false, error: `Credential "${name}" could not be read from the credential store` };
      }
      if (secret === null || secret === undefined) {
        return {
          ok: false,
          error: `Credential "${name}" is not configured for this tenant; the tool "${tool.name}" was not run`,
        };
      }
      credentials[name] = secret;
    }
    scrub = secretScrubber(Object.values(credentials));
    execution.throwIfAborted();

    const frozen = Object.freeze(credentials);
    const value = await execution.race(
      Promise.resolve().then(() =>
        tool.execute(input, {
          credentials: frozen,
          tenantId: options.tenantId,
          sessionId: options.sessionId,
          agentId: options.agentId,
          actionId: options.actionId,
          get signal() {
            return execution.signal;
          },
        }),
      ),
    );

    let output: JsonValue;
    try {
      output = toJson(value);
    } catch {
      return { ok: false, error: `Tool "${tool.name}" returned a value that is not JSON` };
    }
    // Nothing to scrub without credentials: the output is not copied again.
    return capOutput(tool.credentials.length === 0 ? output : scrubJson(output, scrub), maxResultBytes);
  } catch (error) {
    return { ok: false, error: describeFailure(tool.name, error, options.timeoutMs, scrub) };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onCancel);
  }
}

/**
 * Whether and why one execution was aborted. The tool's `AbortSignal` is made only when the tool reads it: making
 * one costs more than running a tool that never looks at it. An abort before then gives an aborted signal.
 */
class Execution {
  #reason: ToolAbort | undefined;
  #controller: AbortController | undefined;
  #rejectRace: ((reason: ToolAbort) => void) | undefined;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: ToolAbort): void {
    if (this.#reason) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#rejectRace?.(reason);
  }

  throwIfAborted(): void {
    if (this.#reason) throw this.#reason;
  }

  /** `running`'s outcome, unless the execution is aborted first (then the abort's reason). */
  race<T>(running: Promise<T>): Promise<T> {
    if (this.#reason) return Promise.reject(this.#reason);
    return new Promise<T>((resolve, reject) => {
      this.#rejectRace = reject;
      running.then(resolve, reject);
    });
  }
}

/** Why the execution was aborted. */
class ToolAbort extends Error {
  constructor(readonly reason: "cancelled" | "timeout") {
    super(reason);
    this.name = "ToolAbort";
  }
}

function toJson(value: unknown): JsonValue {
  if (value === undefined) return null;
  if (typeof value === "string") return value;
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

/** The serialized form whose size is capped: a string as is, anything else as JSON text. */
export function serializeOutput(output: JsonValue): string {
  return typeof output === "string" ? output : JSON.stringify(output);
}

function capOutput(output: JsonValue, maxBytes: number): ToolExecutionResult {
  const text = serializeOutput(output);
  const size = Buffer.byteLength(text, "utf8");
  if (size <= maxBytes) return { ok: true, output, truncated: false };
  return { ok: true, output: truncateText(text, size, maxBytes), truncated: true };
}

/** The first bytes of `text` (whole characters only) and a note, together at most `maxBytes` UTF-8 bytes. */
function truncateText(text: string, size: number, maxBytes: number): string {
  let note = "";
  let kept = "";
  // The note's length depends on how much is kept; two passes settle it.
  for (let pass = 0; pass < 2; pass += 1) {
    const room = Math.max(0, maxBytes - Buffer.byteLength(note, "utf8"));
    const buffer = new Uint8Array(room);
    const { read = 0, written = 0 } = new TextEncoder().encodeInto(text, buffer);
    kept = text.slice(0, read);
    note = `\n[truncated: first ${written} of ${size} bytes]`;
  }
  return `${kept}${note}`;
}

function describeFailure(tool: string, error: unknown, timeoutMs: number | undefined, scrub: Scrubber): string {
  if (error instanceof ToolAbort) {
    return error.reason === "timeout"
      ? `Tool "${tool}" timed out after ${timeoutMs} ms`
      : `Tool "${tool}" was cancelled before it finished`;
  }
  let message =
    error instanceof Error ? error.message : typeof error === "string" ? error : "it threw a non-Error value";
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  if (typeof code === "string" && /^[A-Z0-9_]{2,40}$/.test(code)) message = `${message} (${code})`;
  const safe = scrub(message || "no message");
  const capped = safe.length > MAX_ERROR_CHARS ? `${safe.slice(0, MAX_ERROR_CHARS)}…` : safe;
  return `Tool "${tool}" failed: ${capped}`;
}
