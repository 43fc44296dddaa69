// Tools config files: what loads, and errors that name the offending path.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { readToolsConfigFile } from "../../src/tools/config-file.js";
import { httpTool, loadToolsConfig, ToolsConfigError } from "../../src/tools/http-tool.js";

const dir = mkdtempSync(join(tmpdir(), "vargate-tools-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const validTool = {
  name: "crm_lookup",
  description: "Look a contact up in the CRM",
  input_schema: {
    type: "object",
    properties: { email: { type: "string", format: "email" }, limit: { type: "integer", minimum: 1 } },
    required: ["email"],
  },
  credentials: ["crm"],
  request: {
    method: "GET",
    url: "https://crm.example.com/v1/contacts?email={{input.email}}",
    headers: { authorization: "Bearer {{credentials.crm}}" },
  },
};

interface EditableTool {
  name: string;
  description: string;
  input_schema: { type: string; properties: Record<string, unknown>; required?: string[] };
  request: { method: string; url: string; headers?: Record<string, string>; body?: unknown; body_encoding?: string };
  [field: string]: unknown;
}

/** The config with one tool changed by `change`. */
function withTool(change: (tool: EditableTool) => void) {
  const tool: EditableTool = structuredClone(validTool);
  change(tool);
  return { tools: [tool] };
}

function issuesOf(config: unknown): string[] {
  try {
    loadToolsConfig(config);
  } catch (error) {
    expect(error).toBeInstanceOf(ToolsConfigError);
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message
      .split("\n")
      .slice(1)
      .map((line) => line.trim());
  }
  throw new Error("expected the config to be refused");
}

describe("loadToolsConfig", () => {
  it("builds tools from JSON text or a parsed value", () => {
    const text = JSON.stringify({ $schema: "./tools.schema.json", tools: [validTool] });
    for (const config of [text, JSON.parse(text)]) {
      const [tool, ...rest] = loadToolsConfig(config);
      expect(rest).toEqual([]);
      expect(tool?.name).toBe("crm_lookup");
      expect(tool?.credentials).toEqual(["crm"]);
      expect(tool?.inputJsonSchema).toEqual(validTool.input_schema);
    }
    expect(loadToolsConfig({ tools: [] })).toEqual([]);
  });

  it.each([
    [
      "an unknown input placeholder",
      (t: EditableTool) => {
        t.request.url = "https://crm.example.com/v1/{{input.emial}}";
      },
      'tools[0].request.url: placeholder {{input.emial}}: "emial" is not a property of input_schema',
    ],
    [
      "a nested unknown input placeholder",
      (t: EditableTool) => {
        t.request.body = { x: "{{input.email.domain}}" };
        t.request.method = "POST";
      },
      'tools[0].request.body.x: placeholder {{input.email.domain}}: "email.domain" is not a property of input_schema',
    ],
    [
      "an undeclared credential",
      (t: EditableTool) => {
        t.request.headers = { authorization: "Bearer {{credentials.stripe}}" };
      },
      'tools[0].request.headers.authorization: placeholder {{credentials.stripe}}: credential "stripe" is not listed in the tool\'s credentials',
    ],
    [
      "an unknown placeholder root",
      (t: EditableTool) => {
        t.request.headers = { "x-env": "{{env.HOME}}" };
      },
      'tools[0].request.headers["x-env"]: placeholder {{env.HOME}}: unknown placeholder; use {{input.<field>}} or {{credentials.<name>}}',
    ],
    [
      "an unbalanced brace",
      (t: EditableTool) => {
        t.request.url = "https://crm.example.com/{{input.email";
      },
      "tools[0].request.url: has an unbalanced {{ or }}; placeholders look like {{input.field}}",
    ],
    [
      "a placeholder in the host",
      (t: EditableTool) => {
        t.request.url = "https://{{input.email}}/v1";
      },
      "tools[0].request.url: placeholders may only appear after the host (in the path, query or fragment)",
    ],
    [
      "a relative URL",
      (t: EditableTool) => {
        t.request.url = "/v1/contacts";
      },
      "tools[0].request.url: must be an absolute http:// or https:// URL",
    ],
    [
      "a non-http URL",
      (t: EditableTool) => {
        t.request.url = "file:///etc/passwd";
      },
      "tools[0].request.url: must be an absolute http:// or https:// URL",
    ],
    [
      "a bad method",
      (t: EditableTool) => {
        t.request.method = "FETCH";
      },
      "tools[0].request.method: must be GET, POST, PUT, PATCH or DELETE",
    ],
    [
      "a GET with a body",
      (t: EditableTool) => {
        t.request.body = { a: 1 };
      },
      "tools[0].request.body: a GET request cannot have a body",
    ],
    [
      "a misspelt field",
      (t: EditableTool) => {
        t.reqest = t.request;
      },
      "tools[0].reqest: unknown field (reqest)",
    ],
    [
      "a bad tool name",
      (t: EditableTool) => {
        t.name = "crm lookup";
      },
      "tools[0].name: must be 1-64 characters of a-z, A-Z, 0-9, _ or -",
    ],
    [
      "the reserved tool name",
      (t: EditableTool) => {
        t.name = "vargate_approval_status";
      },
      "tools[0].name: is reserved for the built-in tool",
    ],
    [
      "a misspelt JSON Schema keyword",
      (t: EditableTool) => {
        t.input_schema.properties.limit = { type: "integer", minimun: 1 };
      },
      'tools[0].input_schema.properties.limit.minimun: unsupported JSON Schema keyword "minimun"',
    ],
    [
      "nullable, which is not JSON Schema",
      (t: EditableTool) => {
        t.input_schema.properties.email = { type: "string", nullable: true };
      },
      'tools[0].input_schema.properties.email.nullable: unsupported JSON Schema keyword "nullable"; use "type": ["<type>", "null"]',
    ],
    [
      "a required field that is not a property",
      (t: EditableTool) => {
        t.input_schema.required = ["mail"];
      },
      'tools[0].input_schema.required[0]: "mail" is required but not in properties',
    ],
    [
      "a schema that is not an object",
      (t: EditableTool) => {
        t.input_schema = { type: "string" } as never;
      },
      'tools[0].input_schema: must be a JSON Schema object with "type": "object"',
    ],
    [
      "an unknown type",
      (t: EditableTool) => {
        t.input_schema.properties.limit = { type: "int" };
      },
      "tools[0].input_schema: Unsupported type: int",
    ],
    [
      "a form body that is not flat",
      (t: EditableTool) => {
        t.request.method = "POST";
        t.request.body = { nested: { a: 1 } };
        t.request.body_encoding = "form";
      },
      'tools[0].request.body: with body_encoding "form" the body must be an object of strings, numbers and booleans',
    ],
  ])("names the path of %s", (_what, change, expected) => {
    expect(issuesOf(withTool(change))).toEqual([expected]);
  });

  it("reports every problem of every tool at once, duplicates included", () => {
    const second = { ...structuredClone(validTool), request: { method: "GET", url: "nope" } };
    const third = { ...structuredClone(validTool), name: "other", description: "" };
    expect(issuesOf({ tools: [validTool, second, third] })).toEqual([
      'tools[1].name: "crm_lookup" is already used by tools[0]',
      "tools[1].request.url: must be an absolute http:// or https:// URL",
      "tools[2].description: must not be empty",
    ]);
  });

  it("refuses text that is not JSON and a config without tools", () => {
    expect(issuesOf("{ tools: [")[0]).toMatch(/^\(root\): not valid JSON/);
    expect(issuesOf({ tool: [] })).toEqual([
      "tools: Invalid input: expected array, received undefined",
      "tool: unknown field (tool)",
    ]);
  });
});

describe("httpTool", () => {
  it("names paths relative to the definition", () => {
    expect(() =>
      httpTool({ ...validTool, request: { method: "GET", url: "https://x.example/{{input.nope}}" } }),
    ).toThrow(/^Invalid HTTP tool definition:\n {2}request\.url: placeholder \{\{input\.nope\}\}/);
  });
});

describe("readToolsConfigFile", () => {
  it("loads a file, and names the file when it cannot", async () => {
    const good = join(dir, "tools.json");
    writeFileSync(good, JSON.stringify({ tools: [validTool] }));
    expect((await readToolsConfigFile(good)).map((tool) => tool.name)).toEqual(["crm_lookup"]);

    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify(withTool((t) => (t.name = "no spaces allowed"))));
    await expect(readToolsConfigFile(bad)).rejects.toThrow(`Invalid tools config ${bad}:\n  tools[0].name:`);
    await expect(readToolsConfigFile(join(dir, "missing.json"))).rejects.toThrow(
      `Cannot read tools config ${join(dir, "missing.json")} (ENOENT)`,
    );
  });
});
