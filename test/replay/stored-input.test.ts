import { describe, expect, it } from "vitest";
import { evaluationInputSchema } from "../../src/policy/evaluate.js";
import { parseStoredInput } from "../../src/replay/compare.js";

// parseStoredInput takes plain data that fits as it is, without the schema: it must accept exactly what the
// schema accepts, with the same data, and report the schema's reason otherwise.

const valid = () => ({
  tenant_id: "t1",
  tool: "create_transfer",
  input: { amount: 12.5, to: "a@example.com", nested: { list: [1, "two", null, true, { deep: [] }] }, "é 🚀": "ü" },
  agent: { id: "agent-1", version: 3, allowed_tools: ["create_transfer"], require_human_approval: ["delete_*"] },
  session: { id: "vs-1" },
  now: "2026-04-11T14:30:00.000Z",
  counters: { session: { create_transfer: 4 }, agent_24h: {} },
  extra_field: { kept: true },
});

type Mutation = [string, (input: Record<string, unknown>) => void];
const set =
  (path: string[], value: unknown): Mutation[1] =>
  (input) => {
    let target = input as Record<string, unknown>;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
    target[path.at(-1) as string] = value;
  };

const MUTATIONS: Mutation[] = [
  ["unchanged", () => undefined],
  ["session null", set(["session"], null)],
  ["session missing", set(["session"], undefined)],
  ["session without id", set(["session"], {})],
  ["empty tool", set(["tool"], "")],
  ["numeric tool", set(["tool"], 1)],
  ["tenant null", set(["tenant_id"], null)],
  ["input array", set(["input"], [1])],
  ["input string", set(["input"], "text")],
  ["input NaN", set(["input", "amount"], Number.NaN)],
  ["input Infinity deep", set(["input", "nested"], { x: [Number.POSITIVE_INFINITY] })],
  ["input undefined member", set(["input", "gone"], undefined)],
  ["input function", set(["input", "f"], () => 1)],
  ["input date", set(["input", "when"], new Date(0))],
  ["input class", set(["input", "map"], new Map())],
  ["agent missing", set(["agent"], undefined)],
  ["agent version string", set(["agent", "version"], "3")],
  ["agent version NaN", set(["agent", "version"], Number.NaN)],
  ["allowed tools numbers", set(["agent", "allowed_tools"], [1])],
  ["require human string", set(["agent", "require_human_approval"], "x")],
  ["now not RFC 3339", set(["now"], "yesterday")],
  ["now impossible date", set(["now"], "2026-02-30T00:00:00Z")],
  ["now with offset", set(["now"], "2026-04-11T16:30:00+02:00")],
  ["counter negative", set(["counters", "session"], { a: -1 })],
  ["counter fraction", set(["counters", "session"], { a: 1.5 })],
  ["counter huge", set(["counters", "agent_24h"], { a: 2 ** 60 })],
  ["counter string", set(["counters", "agent_24h"], { a: "1" })],
  ["counters missing scope", set(["counters"], { session: {} })],
  ["null prototype input", set(["input"], Object.assign(Object.create(null), { a: 1 }))],
];

describe("parseStoredInput", () => {
  it.each(MUTATIONS)("agrees with evaluationInputSchema: %s", (_name, mutate) => {
    const input = valid() as Record<string, unknown>;
    mutate(input);
    const schema = evaluationInputSchema.safeParse(input);
    const parsed = parseStoredInput(input);
    expect(parsed.ok).toBe(schema.success);
    if (parsed.ok && schema.success) expect(parsed.input).toEqual(schema.data);
    if (!parsed.ok) expect(parsed.reason.length).toBeGreaterThan(0);
  });

  it("agrees on data read back from JSON text, and on what is not an object at all", () => {
    for (const value of [JSON.parse(JSON.stringify(valid())), null, 1, "x", [], [valid()]]) {
      expect(parseStoredInput(value).ok).toBe(evaluationInputSchema.safeParse(value).success);
    }
  });
});
