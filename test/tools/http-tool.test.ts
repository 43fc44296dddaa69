// Declarative HTTP tools against a real local target: templating, credentials, responses and failures.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CredentialStore } from "../../src/credentials/store.js";
import { validateToolInput } from "../../src/tools/define.js";
import { executeTool } from "../../src/tools/execute.js";
import { type HttpToolDefinition, httpTool } from "../../src/tools/http-tool.js";
import type { GovernedTool } from "../../src/tools/types.js";
import { credentialStore, IDS, startTarget, type Target } from "./helpers.js";

const SECRET = "crm-token-7f3a9c1e5b2d4f60";

let target: Target;
let store: CredentialStore;
beforeEach(async () => {
  target = await startTarget();
  store = await credentialStore({ crm: SECRET });
});
afterEach(async () => {
  await target.close();
});

const inputSchema = {
  type: "object",
  properties: {
    customer: { type: "string" },
    tag: { type: "string" },
    amount: { type: "number", minimum: 0 },
    currency: { type: "string", enum: ["usd", "gbp"] },
    meta: { type: "object", properties: { source: { type: "string" } } },
    note: { type: "string" },
    flags: { type: "array", items: { type: "string" } },
  },
  required: ["customer", "amount"],
};

function definition(request: HttpToolDefinition["request"], extra: Partial<HttpToolDefinition> = {}) {
  return {
    name: "crm_call",
    description: "Calls the CRM",
    input_schema: inputSchema,
    credentials: ["crm"],
    request: { ...request, url: request.url.replace("TARGET", target.url) },
    ...extra,
  } satisfies HttpToolDefinition;
}

async function run(tool: GovernedTool, input: unknown) {
  const validated = await validateToolInput(tool, input);
  if (!validated.ok) throw new Error(JSON.stringify(validated.issues));
  return executeTool(tool, validated.input, { credentials: store, ...IDS, actionId: "a-1" });
}

describe("httpTool templating", () => {
  it("percent-encodes URL placeholders, injects credentials into headers, and keeps JSON types in the body", async () => {
    const tool = httpTool(
      definition({
        method: "post",
        url: "TARGET/customers/{{input.customer}}/charges?tag={{input.tag}}",
        headers: { authorization: "Bearer {{credentials.crm}}", "x-action": "charge {{input.currency}}" },
        body: {
          amount: "{{input.amount}}",
          meta: "{{input.meta}}",
          flags: "{{input.flags}}",
          label: "Charge {{input.amount}} {{input.currency}} for {{input.customer}}",
          note: "{{input.note}}",
          fixed: [1, true, null, "{{input.meta.source}}"],
        },
      }),
    );
    const result = await run(tool, {
      customer: "ada lovelace/&?",
      tag: "a&b=c",
      amount: 12.5,
      currency: "gbp",
      meta: { source: "chat" },
      flags: ["x"],
    });
    expect(result.ok).toBe(true);
    const [received] = target.received;
    expect(received?.method).toBe("POST");
    expect(received?.url).toBe("/customers/ada%20lovelace%2F%26%3F/charges?tag=a%26b%3Dc");
    expect(received?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(received?.headers["x-action"]).toBe("charge gbp");
    expect(received?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(received?.body as string)).toEqual({
      amount: 12.5,
      meta: { source: "chat" },
      flags: ["x"],
      label: "Charge 12.5 gbp for ada lovelace/&?",
      fixed: [1, true, null, "chat"],
    });
    // The target echoed everything back, the Authorization header included.
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(result.ok && result.output).toMatchObject({ headers: { authorization: "Bearer [redacted]" } });
  });

  it("adds query parameters, leaving out those whose sole placeholder the input lacks", async () => {
    const tool = httpTool(
      definition({
        method: "GET",
        url: "TARGET/search",
        query: { customer: "{{input.customer}}", note: "{{input.note}}", api_key: "{{credentials.crm}}", v: "2" },
      }),
    );
    const result = await run(tool, { customer: "c 1", amount: 1 });
    expect(target.received[0]?.url).toBe(`/search?customer=c+1&api_key=${SECRET}&v=2`);
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it("sends a form-encoded body when asked", async () => {
    const tool = httpTool(
      definition({
        method: "POST",
        url: "TARGET/v1/charges",
        headers: { authorization: "Bearer {{credentials.crm}}" },
        body: { amount: "{{input.amount}}", currency: "{{input.currency}}", customer: "{{input.customer}}" },
        body_encoding: "form",
      }),
    );
    await run(tool, { customer: "cus_1", amount: 500, currency: "usd" });
    expect(target.received[0]?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(target.received[0]?.body).toBe("amount=500&currency=usd&customer=cus_1");
  });

  it("validates arguments with the converted JSON Schema", async () => {
    const tool = httpTool(definition({ method: "GET", url: "TARGET/x" }));
    const result = await validateToolInput(tool, { customer: 1, amount: -1, currency: "eur" });
    expect(!result.ok && result.issues.map((issue) => issue.loc.join("."))).toEqual([
      "input.customer",
      "input.amount",
      "input.currency",
    ]);
    expect(tool.inputJsonSchema).toEqual(inputSchema);
  });

  it("refuses an input that would make a URL path step of . or ..", async () => {
    const tool = httpTool(definition({ method: "GET", url: "TARGET/customers/{{input.customer}}/notes" }));
    for (const customer of ["..", "."]) {
      const result = await run(tool, { customer, amount: 1 });
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error).toContain("URL path segment of . or ..");
    }
    expect(target.received).toEqual([]);
  });
});

describe("httpTool responses", () => {
  it("returns JSON as JSON, text as text, and an empty body as its status", async () => {
    const tool = httpTool(definition({ method: "GET", url: "TARGET/r" }));
    target.respond = (_request, res) => {
      res.writeHead(200, { "content-type": "application/vnd.api+json" }).end('{"data":{"id":"1"}}');
    };
    expect(await run(tool, { customer: "c", amount: 1 })).toEqual({
      ok: true,
      output: { data: { id: "1" } },
      truncated: false,
    });
    target.respond = (_request, res) => {
      res.writeHead(200, { "content-type": "text/plain" }).end("plain words");
    };
    expect(await run(tool, { customer: "c", amount: 1 })).toEqual({
      ok: true,
      output: "plain words",
      truncated: false,
    });
    target.respond = (_request, res) => {
      res.writeHead(204).end();
    };
    expect(await run(tool, { customer: "c", amount: 1 })).toEqual({
      ok: true,
      output: { status: 204 },
      truncated: false,
    });
  });

  it("fails on non-2xx with the status and an excerpt, never the request headers, secrets scrubbed", async () => {
    const tool = httpTool(
      definition({ method: "GET", url: "TARGET/r", headers: { authorization: "Bearer {{credentials.crm}}" } }),
    );
    target.respond = (request, res) => {
      res
        .writeHead(403, { "content-type": "application/json" })
        .end(JSON.stringify({ error: "forbidden", got: request.headers.authorization }));
    };
    const result = await run(tool, { customer: "c", amount: 1 });
    expect(result.ok).toBe(false);
    const error = result.ok ? "" : result.error;
    expect(error).toMatch(/^Tool "crm_call" failed: HTTP 403 Forbidden from 127\.0\.0\.1:\d+: /);
    expect(error).toContain('"got":"Bearer [redacted]"');
    expect(error).not.toContain(SECRET);
    expect(error.toLowerCase()).not.toContain("authorization");
  });

  it("does not follow redirects, so credentials never travel elsewhere", async () => {
    const elsewhere = await startTarget();
    try {
      const tool = httpTool(
        definition({ method: "GET", url: "TARGET/r", headers: { "x-api-key": "{{credentials.crm}}" } }),
      );
      target.respond = (_request, res) => {
        res.writeHead(302, { location: `${elsewhere.url}/steal` }).end();
      };
      const result = await run(tool, { customer: "c", amount: 1 });
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error).toContain("HTTP 302");
      expect(!result.ok && result.error).toContain("redirects are not followed");
      expect(elsewhere.received).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it("gives up after timeout_ms", async () => {
    const tool = httpTool(definition({ method: "GET", url: "TARGET/slow" }, { timeout_ms: 30 }));
    target.respond = () => {}; // never answers; the target's close() cuts the connection
    const result = await run(tool, { customer: "c", amount: 1 });
    expect(result).toEqual({ ok: false, error: 'Tool "crm_call" failed: the request timed out after 30 ms' });
  });

  it("reads at most max_response_bytes of the body", async () => {
    const tool = httpTool(definition({ method: "GET", url: "TARGET/big" }, { max_response_bytes: 1_000 }));
    target.respond = (_request, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ text: "x".repeat(10_000) }));
    };
    const result = await run(tool, { customer: "c", amount: 1 });
    expect(result.ok).toBe(true);
    const output = result.ok ? (result.output as string) : "";
    expect(typeof output).toBe("string");
    expect(output.endsWith("\n[response cut at 1000 bytes]")).toBe(true);
    expect(output.length).toBe(1_000 + "\n[response cut at 1000 bytes]".length);
  });
});
