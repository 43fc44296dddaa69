// executeTool: credential brokering into a real HTTP target, scrubbing, the result cap and failures.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
import type { CredentialStore } from "../../src/credentials/store.js";
import { ConfigError } from "../../src/errors.js";
import type { JsonValue } from "../../src/json.js";
import { defineTool } from "../../src/tools/define.js";
import { executeTool } from "../../src/tools/execute.js";
import type { ExecuteToolOptions, ToolExecutionContext } from "../../src/tools/types.js";
import { credentialStore, IDS, startTarget, type Target } from "./helpers.js";

const SECRET = "sk_live_51HxTestSecretValue+/=Zq9";

let target: Target;
let store: CredentialStore;
beforeEach(async () => {
  target = await startTarget();
  store = await credentialStore({ crm: SECRET, other: "second-secret-value" });
});
afterEach(async () => {
  await target.close();
});

function options(overrides: Partial<ExecuteToolOptions> = {}): ExecuteToolOptions {
  return { credentials: store, ...IDS, actionId: "9f1c7c3e-0000-4000-8000-000000000001", ...overrides };
}

/** A tool that calls the target with the CRM token and returns whatever the target answers. */
const crmLookup = defineTool({
  name: "crm_lookup",
  description: "Look a contact up in the CRM",
  inputSchema: z.object({ email: z.string() }),
  credentials: ["crm"],
  async execute(input, { credentials, signal }) {
    const url = new URL(`${currentTarget()}/contacts`);
    url.searchParams.set("email", input.email);
    url.searchParams.set("echo_token", credentials.crm as string);
    const response = await fetch(url, { headers: { authorization: `Bearer ${credentials.crm}` }, signal });
    return (await response.json()) as JsonValue;
  },
});
const currentTarget = () => target.url;

describe("executeTool", () => {
  it("injects the credential into the request, and the echoed secret never reaches the output", async () => {
    const result = await executeTool(crmLookup, { email: "ada@example.com" }, options());
    expect(target.received).toHaveLength(1);
    expect(target.received[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.truncated).toBe(false);
    const text = JSON.stringify(result.output);
    // The target echoed the header raw and the query string percent-encoded; neither form survives.
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(encodeURIComponent(SECRET));
    expect(text).not.toContain("51HxTestSecretValue");
    expect(result.output).toMatchObject({
      method: "GET",
      headers: { authorization: "Bearer [redacted]" },
    });
    expect((result.output as { url: string }).url).toContain("echo_token=[redacted]");
  });

  it("passes the ids and a signal, and resolves credentials only at execution time", async () => {
    let seen: ToolExecutionContext | undefined;
    const tool = defineTool({
      name: "ctx",
      description: "Shows its context",
      inputSchema: z.object({}),
      credentials: ["other"],
      async execute(_input, context) {
        seen = context;
        return "done";
      },
    });
    const result = await executeTool(tool, {}, options());
    expect(result).toEqual({ ok: true, output: "done", truncated: false });
    expect(seen).toMatchObject({ ...IDS, actionId: "9f1c7c3e-0000-4000-8000-000000000001" });
    expect(seen?.credentials).toEqual({ other: "second-secret-value" });
    expect(Object.isFrozen(seen?.credentials)).toBe(true);
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
  });

  it("scrubs secrets in JSON-escaped, base64 and nested forms, keys and numbers included", async () => {
    const pin = "98765432";
    const local = await credentialStore({ crm: SECRET, pin });
    const tool = defineTool({
      name: "leaky",
      description: "Returns its secrets in many disguises",
      inputSchema: z.object({}),
      credentials: ["crm", "pin"],
      async execute(_input, { credentials }) {
        return {
          raw: `token=${credentials.crm}`,
          json: JSON.stringify({ token: credentials.crm }),
          basic: `Basic ${Buffer.from(credentials.crm as string).toString("base64")}`,
          [`key-${credentials.crm}`]: [1, { deep: credentials.crm as string }],
          pin: Number(credentials.pin),
        };
      },
    });
    const result = await executeTool(tool, {}, options({ credentials: local }));
    expect(result.ok).toBe(true);
    const text = JSON.stringify(result.ok && result.output);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(JSON.stringify(SECRET).slice(1, -1));
    expect(text).not.toContain(Buffer.from(SECRET).toString("base64"));
    expect(text).not.toContain(pin);
    expect(result.ok && result.output).toEqual({
      raw: "token=[redacted]",
      json: '{"token":"[redacted]"}',
      basic: "Basic [redacted]",
      "key-[redacted]": [1, { deep: "[redacted]" }],
      pin: "[redacted]",
    });
  });

  it("fails without running the tool when a credential is missing, naming it", async () => {
    let ran = false;
    const tool = defineTool({
      name: "needs_stripe",
      description: "Needs a credential nobody stored",
      inputSchema: z.object({}),
      credentials: ["crm", "stripe"],
      async execute() {
        ran = true;
        return null;
      },
    });
    const result = await executeTool(tool, {}, options());
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain('Credential "stripe" is not configured');
    expect(ran).toBe(false);
  });

  it("fails with a safe message when the credential store fails", async () => {
    const broken: CredentialStore = {
      ...store,
      get: async () => {
        throw new Error(`decrypt failed for ${SECRET}`);
      },
    };
    const result = await executeTool(crmLookup, { email: "x" }, options({ credentials: broken }));
    expect(result).toEqual({ ok: false, error: 'Credential "crm" could not be read from the credential store' });
    expect(target.received).toEqual([]);
  });

  it("turns thrown errors into a message without the secret", async () => {
    const tool = defineTool({
      name: "thrower",
      description: "Throws with the secret in the message",
      inputSchema: z.object({}),
      credentials: ["crm"],
      async execute(_input, { credentials }) {
        throw new Error(`upstream rejected key ${credentials.crm}`);
      },
    });
    const result = await executeTool(tool, {}, options());
    expect(result).toEqual({ ok: false, error: 'Tool "thrower" failed: upstream rejected key [redacted]' });

    const odd = defineTool({
      name: "odd",
      description: "Throws a non-Error",
      inputSchema: z.object({}),
      execute: async () => {
        throw { secret: SECRET };
      },
    });
    const oddResult = await executeTool(odd, {}, options());
    expect(oddResult).toEqual({ ok: false, error: 'Tool "odd" failed: it threw a non-Error value' });
  });

  it("reports a network failure with its error code", async () => {
    const url = target.url;
    await target.close();
    const tool = defineTool({
      name: "unreachable",
      description: "Calls a closed port",
      inputSchema: z.object({}),
      execute: async () => (await fetch(url)).text(),
    });
    const result = await executeTool(tool, {}, options());
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/^Tool "unreachable" failed: fetch failed \(ECONNREFUSED\)$/);
  });

  it("caps the serialized output, keeping whole characters, and says so", async () => {
    const big = defineTool({
      name: "big",
      description: "Returns a lot",
      inputSchema: z.object({ size: z.number() }),
      execute: async ({ size }) => ({ text: "é".repeat(size) }),
    });
    const small = await executeTool(big, { size: 10 }, options());
    expect(small).toEqual({ ok: true, output: { text: "é".repeat(10) }, truncated: false });

    const result = await executeTool(big, { size: 100_000 }, options());
    expect(result.ok && result.truncated).toBe(true);
    const output = result.ok ? result.output : null;
    expect(typeof output).toBe("string");
    expect(Buffer.byteLength(output as string)).toBeLessThanOrEqual(64 * 1024);
    expect(Buffer.byteLength(output as string)).toBeGreaterThan(60 * 1024);
    // Compare slices, not the whole 64 KiB string, so a failure prints something readable.
    expect((output as string).slice(0, 11)).toBe('{"text":"éé');
    expect((output as string).includes("\uFFFD")).toBe(false);
    expect((output as string).slice(-60)).toMatch(/é\n\[truncated: first \d+ of 200011 bytes\]$/);

    const capped = await executeTool(big, { size: 1_000 }, options({ maxResultBytes: 300 }));
    expect(capped.ok && capped.truncated).toBe(true);
    expect(Buffer.byteLength((capped.ok && capped.output) as string)).toBeLessThanOrEqual(300);
  });

  it("scrubs before truncating, so a cut can never expose part of a secret", async () => {
    const tool = defineTool({
      name: "padded",
      description: "A secret right at the cut",
      inputSchema: z.object({}),
      credentials: ["crm"],
      execute: async (_input, { credentials }) => `${"x".repeat(90)}${credentials.crm}${"y".repeat(200)}`,
    });
    const result = await executeTool(tool, {}, options({ maxResultBytes: 150 }));
    expect(result.ok && result.truncated).toBe(true);
    expect((result.ok && result.output) as string).toMatch(/^x{90}\[redacted\]y+/);
    expect((result.ok && result.output) as string).not.toContain("sk_live");
  });

  it("gives up after timeoutMs even when the tool ignores its signal, and aborts the signal", async () => {
    let signal: AbortSignal | undefined;
    const hang = defineTool({
      name: "hang",
      description: "Never finishes",
      inputSchema: z.object({}),
      execute: (_input, context) => {
        signal = context.signal;
        return new Promise(() => {});
      },
    });
    const result = await executeTool(hang, {}, options({ timeoutMs: 20 }));
    expect(result).toEqual({ ok: false, error: 'Tool "hang" timed out after 20 ms' });
    expect(signal?.aborted).toBe(true);
  });

  it("gives up after timeoutMs on a tool that never reads its signal; a signal read later is already aborted", async () => {
    let late: (() => AbortSignal) | undefined;
    const hang = defineTool({
      name: "hang",
      description: "Never finishes, and looks at its signal only when asked",
      inputSchema: z.object({}),
      execute: (_input, context) => {
        late = () => context.signal;
        return new Promise(() => {});
      },
    });
    const result = await executeTool(hang, {}, options({ timeoutMs: 20 }));
    expect(result).toEqual({ ok: false, error: 'Tool "hang" timed out after 20 ms' });
    const signal = late?.();
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ name: "ToolAbort", reason: "timeout" });
    expect(late?.()).toBe(signal);
  });

  it("does not run when already cancelled, and stops when cancelled mid-way", async () => {
    let runs = 0;
    const slow = defineTool({
      name: "slow",
      description: "Waits for its signal",
      inputSchema: z.object({}),
      execute: (_input, { signal }) => {
        runs += 1;
        return new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
      },
    });
    const cancelled = await executeTool(slow, {}, options({ signal: AbortSignal.abort() }));
    expect(cancelled).toEqual({ ok: false, error: 'Tool "slow" was cancelled before it finished' });
    expect(runs).toBe(0);

    const controller = new AbortController();
    const running = executeTool(slow, {}, options({ signal: controller.signal }));
    while (runs === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    expect(await running).toEqual({ ok: false, error: 'Tool "slow" was cancelled before it finished' });
  });

  it("rejects results that are not JSON, and reads undefined as null", async () => {
    const bigint = defineTool({
      name: "bigint",
      description: "Returns a BigInt",
      inputSchema: z.object({}),
      execute: async () => ({ n: 10n }) as unknown as JsonValue,
    });
    expect(await executeTool(bigint, {}, options())).toEqual({
      ok: false,
      error: 'Tool "bigint" returned a value that is not JSON',
    });
    const nothing = defineTool({
      name: "nothing",
      description: "Returns undefined",
      inputSchema: z.object({}),
      execute: async () => undefined as unknown as JsonValue,
    });
    expect(await executeTool(nothing, {}, options())).toEqual({ ok: true, output: null, truncated: false });
  });

  it("refuses nonsensical options", async () => {
    await expect(executeTool(crmLookup, {}, options({ maxResultBytes: 0 }))).rejects.toThrow(ConfigError);
    await expect(executeTool(crmLookup, {}, options({ timeoutMs: -1 }))).rejects.toThrow(ConfigError);
  });
});
