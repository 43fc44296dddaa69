// defineTool, the registry and input validation.
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { ConfigError, ValidationError } from "../../src/errors.js";
import { defineTool, parseToolInput, validateToolInput } from "../../src/tools/define.js";
import { ToolRegistry } from "../../src/tools/registry.js";

const make = (name: string, extra: Partial<Parameters<typeof defineTool>[0]> = {}) =>
  defineTool({
    name,
    description: `The ${name} tool`,
    inputSchema: z.object({ amount: z.number().positive(), currency: z.enum(["usd", "gbp"]).default("usd") }),
    execute: async () => null,
    ...extra,
  });

describe("defineTool", () => {
  it("derives the listed JSON Schema from the zod schema (input side, defaults optional)", () => {
    const tool = make("create_charge", { credentials: ["stripe", "stripe"] });
    expect(tool.credentials).toEqual(["stripe"]);
    expect(tool.inputJsonSchema).toEqual({
      type: "object",
      properties: {
        amount: { type: "number", exclusiveMinimum: 0 },
        currency: { type: "string", enum: ["usd", "gbp"], default: "usd" },
      },
      required: ["amount"],
    });
    expect(Object.isFrozen(tool)).toBe(true);
  });

  it.each([
    ["", /Tool name "" is invalid/],
    ["has space", /is invalid/],
    ["x".repeat(65), /is invalid/],
    ["vargate_approval_status", /reserved/],
  ])("refuses the name %j", (name, message) => {
    expect(() => make(name)).toThrow(ConfigError);
    expect(() => make(name)).toThrow(message);
  });

  it("refuses a schema that is not a zod object, an empty description and bad credential names", () => {
    expect(() =>
      defineTool({ name: "a", description: "d", inputSchema: z.string() as never, execute: async () => null }),
    ).toThrow(/inputSchema must be a zod \(v4\) object schema/);
    expect(() => make("a", { description: " " })).toThrow(/description must be a non-empty string/);
    expect(() => make("a", { credentials: ["has.dot"] })).toThrow(/credential name "has.dot" is invalid/);
  });
});

describe("ToolRegistry", () => {
  it("registers, looks up and lists in registration order", () => {
    const registry = new ToolRegistry().register(make("b_tool"), make("a_tool"));
    expect(registry.list().map((tool) => tool.name)).toEqual(["b_tool", "a_tool"]);
    expect(registry.get("a_tool")?.description).toBe("The a_tool tool");
    expect(registry.get("missing")).toBeUndefined();
    expect(registry.has("b_tool")).toBe(true);
    expect(registry.size).toBe(2);
  });

  it("refuses duplicates, adding none of a failing batch", () => {
    const registry = new ToolRegistry().register(make("one"));
    expect(() => registry.register(make("two"), make("one"))).toThrow('Tool "one" is already registered');
    expect(() => registry.register(make("three"), make("three"))).toThrow('Tool "three" is already registered');
    expect(registry.list().map((tool) => tool.name)).toEqual(["one"]);
  });

  it("checks names of hand-made tools too", () => {
    const forged = { ...make("ok"), name: "bad name" };
    expect(() => new ToolRegistry().register(forged)).toThrow(/is invalid/);
    expect(() => new ToolRegistry().register({} as never)).toThrow(/defineTool\(\) or httpTool\(\)/);
  });
});

describe("tool input validation", () => {
  const tool = make("create_charge");

  it("returns the parsed input, defaults applied", async () => {
    expect(await validateToolInput(tool, { amount: 5 })).toEqual({ ok: true, input: { amount: 5, currency: "usd" } });
  });

  it("names every bad field under input", async () => {
    const result = await validateToolInput(tool, { amount: -1, currency: "eur" });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues.map((issue) => issue.loc)).toEqual([
      ["input", "amount"],
      ["input", "currency"],
    ]);
    await expect(parseToolInput(tool, undefined)).rejects.toThrow(ValidationError);
    await expect(parseToolInput(tool, undefined)).rejects.toThrow(/input\.amount/);
  });
});
