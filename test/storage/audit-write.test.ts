import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { entry } from "../../src/testing/storage-conformance/fixtures.js";
import { forEachTestDatabase, useSharedGovernor } from "../setup/databases.js";

// The write path of the SQL storage: a plain JSON field is serialized once for its hash and its row, and is not
// copied. (What every storage stores and returns is in the conformance suite.)

forEachTestDatabase("audit write path", (database) => {
  const shared = useSharedGovernor(database);

  it("keeps a plain JSON input as it is, and stores its canonical text", async () => {
    const tenantId = `t-${randomBytes(5).toString("hex")}`;
    const plain = { z: [1, "x", null, true, { b: 1.5 }], a: "lone \ud800" };
    const [record] = await shared.test.storage.audit.append(tenantId, [entry({ input: plain })]);
    expect(record?.input).toBe(plain);
    const [stored] = (await shared.test.storage.audit.scanStored?.(tenantId, { afterSeq: 0, limit: 1 })) ?? [];
    expect(stored?.input).toBe('{"a":"lone \\ud800","z":[1,"x",null,true,{"b":1.5}]}');
    expect(await shared.governor.audit.verify(tenantId)).toMatchObject({ valid: true, record_count: 1 });
  });
});
