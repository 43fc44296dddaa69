import { describe, expect, it } from "vitest";
import { randomIds } from "../../src/ids.js";
import { VargateGovernor } from "../../src/index.js";
import { memoryStorage } from "../../src/storage/memory/index.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The Unix milliseconds in a UUIDv7's first 48 bits. */
function millisecondsOf(id: string): number {
  return Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
}

describe("action ids", () => {
  it("are UUIDv7s stamped with the current time", () => {
    const before = Date.now();
    const id = randomIds.actionId();
    const after = Date.now();
    expect(id).toMatch(UUID_V7);
    expect(millisecondsOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisecondsOf(id)).toBeLessThanOrEqual(after);
  });

  it("sort in the order they were made, also within one millisecond, and never repeat", () => {
    const ids = Array.from({ length: 10_000 }, () => randomIds.actionId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it("are what the governor stamps on its records, in chain order", async () => {
    const governor = new VargateGovernor({ storage: memoryStorage() });
    await governor.migrate();
    await governor.tenants.create({ tenant_id: "acme" });
    for (let i = 0; i < 5; i++) await governor.agents.create("acme", { name: `agent ${i}` });
    const records = [];
    for await (const record of governor.audit.records("acme")) records.push(record);
    const ids = records.map((record) => record.action_id);
    expect(ids.length).toBeGreaterThanOrEqual(6);
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect([...ids].sort()).toEqual(ids);
  });
});
