import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/types.js";
import type { JsonValue } from "../../src/json.js";
import { entry } from "../../src/testing/storage-conformance/fixtures.js";
import { forEachTestDatabase, useSharedGovernor } from "../setup/databases.js";

// The write path of the audit log on every engine: a JSON field is stored as a JSON round trip gives it, and
// append returns exactly what reads back. Plain JSON data is serialized once and not copied; anything a round trip
// would change goes through JSON text first.

class Point {
  x = 1;
  y = 2;
}

forEachTestDatabase("audit write path", (database) => {
  const shared = useSharedGovernor(database);

  it("stores what a JSON round trip gives, returns what reads back, and verifies", async () => {
    const tenantId = `t-${randomBytes(5).toString("hex")}`;
    await shared.governor.tenants.create({ tenant_id: tenantId });
    const plain = { a: [1, "x", null, true, { b: 1.5 }], "ü 🚀": "lone \ud800" };
    // Each one alone, so that each is what makes its input go through JSON text.
    const inputs: unknown[] = [
      plain,
      { zero: -0 },
      [-0],
      { gone: undefined, kept: 1 },
      [undefined, 1],
      { point: new Point() },
      new Map([["a", 1]]),
      { boxed: new String("ab") },
      { when: new Date(Date.UTC(2026, 0, 2)) },
      new Date(Date.UTC(2026, 0, 3)),
      { custom: { toJSON: () => "custom" } },
    ];
    const appended = await shared.test.storage.audit.append(
      tenantId,
      inputs.map((input) => entry({ input: input as JsonValue, violations: ["v", "w"] })),
    );
    const roundTrip = (value: unknown) => JSON.parse(JSON.stringify(value));
    expect(appended.map((record) => record.input)).toStrictEqual(inputs.map(roundTrip));
    // Plain data is not copied.
    expect(appended[0]?.input).toBe(plain);

    const read: AuditRecord[] = [];
    for await (const record of shared.governor.audit.records(tenantId)) read.push(record);
    expect(read.slice(1)).toStrictEqual(appended);
    expect(await shared.governor.audit.verify(tenantId)).toMatchObject({
      valid: true,
      record_count: inputs.length + 1,
    });
  });
});
