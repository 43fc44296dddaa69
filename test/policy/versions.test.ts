import { describe, expect, it } from "vitest";
import { StorageError } from "../../src/errors.js";
import { VargateGovernor } from "../../src/governor.js";
import { memoryStorage } from "../../src/storage/memory/index.js";

// governor.policy.atVersion: the compiled policy of a stored version, read and compiled once per version.
describe("compiled policy versions", () => {
  async function setup() {
    const storage = memoryStorage();
    const reads = { count: 0, fail: false };
    const get = storage.policies.get.bind(storage.policies);
    Object.assign(storage.policies, {
      get: async (tenantId: string, version: number) => {
        reads.count += 1;
        if (reads.fail) throw new StorageError("memory", "Storage operation policies.get failed");
        return get(tenantId, version);
      },
    });
    const governor = new VargateGovernor({ storage });
    await governor.tenants.create({ tenant_id: "t" });
    await governor.policy.put("t", {
      rules: [{ id: "no-pay", when: { tool: "pay" }, effect: "deny", severity: "high", message: "no" }],
    });
    return { governor, reads };
  }

  it("reads and compiles a version once for calls that arrive together", async () => {
    const { governor, reads } = await setup();
    const compiled = await Promise.all(Array.from({ length: 16 }, () => governor.policy.atVersion("t", 1)));
    expect(reads.count).toBe(1);
    expect(new Set(compiled).size).toBe(1);
    expect(compiled[0]?.version).toBe(1);
    await governor.policy.atVersion("t", 1);
    expect(reads.count).toBe(1);
  });

  it("reads again after a failed read, and for a version that is not stored", async () => {
    const { governor, reads } = await setup();
    reads.fail = true;
    await expect(Promise.all([governor.policy.atVersion("t", 1), governor.policy.atVersion("t", 1)])).rejects.toThrow(
      StorageError,
    );
    expect(reads.count).toBe(1);
    reads.fail = false;
    expect((await governor.policy.atVersion("t", 1)).version).toBe(1);
    expect(reads.count).toBe(2);
    // Not stored (yet): the built-in default, and not kept under that version.
    expect((await governor.policy.atVersion("t", 7)).version).toBeNull();
    expect((await governor.policy.atVersion("t", 7)).version).toBeNull();
    expect(reads.count).toBe(4);
  });
});
