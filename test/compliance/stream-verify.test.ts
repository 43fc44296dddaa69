import { describe, expect, it } from "vitest";
import { splitExport } from "../../src/compliance/json-stream.js";
import { verifyComplianceExport, verifyComplianceExportStream } from "../../src/compliance/verify.js";
import { VargateGovernor } from "../../src/governor.js";
import { memoryStorage } from "../../src/storage/memory-entry.js";
import { sessionEntry, storeSession } from "./helpers.js";

async function* chunked(text: string, size: number) {
  const bytes = Buffer.from(text, "utf8");
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function parts(text: string, size: number) {
  const out = [];
  for await (const part of splitExport(chunked(text, size), { items: true })) out.push(part);
  return out;
}

describe("verifying an export as a stream", () => {
  it("splits any chunking of the same text the same way, multi-byte characters and escapes included", async () => {
    const text = JSON.stringify(
      {
        a: { 'x"y': [1, "]}", { z: "é😀" }] },
        // Escapes next to quotes and to each other, where a splitter that jumps through strings could go wrong.
        b: ["\\", '\\"', '"\\', 'a\\\\"}]b', "\n\t\u0001", `${"x".repeat(100)}\\"${"y".repeat(100)}`],
        timeline: [{ s: "a,b]" }, [2, 3], 't\\"', null, { e: '\\"],{' }],
        z: 1,
      },
      null,
      1,
    );
    const whole = await parts(text, text.length);
    expect(whole.map((p) => p.kind)).toEqual([
      "field",
      "field",
      "timeline",
      "item",
      "item",
      "item",
      "item",
      "item",
      "field",
    ]);
    expect(whole.filter((p) => p.kind === "item").map((p) => JSON.parse((p as { text: string }).text))).toEqual([
      { s: "a,b]" },
      [2, 3],
      't\\"',
      null,
      { e: '\\"],{' },
    ]);
    expect(JSON.parse((whole[1] as { text: string }).text)).toEqual(JSON.parse(text).b);
    for (const size of [1, 2, 3, 5, 7, 64]) expect(await parts(text, size)).toEqual(whole);
    await expect(parts(text.slice(0, -3), 4)).rejects.toThrow(SyntaxError);
    await expect(parts("[1]", 4)).rejects.toThrow(SyntaxError);
    expect(await parts('{"timeline":[]}', 2)).toEqual([{ kind: "timeline" }]);
  });

  it("gives the same result as the in-memory verifier, in small chunks, valid or not", async () => {
    const governor = new VargateGovernor({ storage: memoryStorage() });
    await governor.migrate();
    await governor.tenants.create({ tenant_id: "acme" });
    const agentId = await storeSession(governor, "acme", "vs-00000000000000ef");
    await governor.storage.audit.append(
      "acme",
      Array.from({ length: 30 }, (_, i) => sessionEntry("vs-00000000000000ef", agentId, i)),
    );
    const exported = await governor.compliance.export("acme", "vs-00000000000000ef");
    const key = (await governor.checkpoints.publicKey("acme")).public_key_pem;
    const text = JSON.stringify(exported, null, 2);
    const streamed = await verifyComplianceExportStream(() => chunked(text, 13), { publicKey: key });
    expect(streamed).toEqual(verifyComplianceExport(text, { publicKey: key }));
    expect(streamed).toMatchObject({ valid: true, records: 30 });

    const forged = text.replace('"i": 7', '"i": 8');
    const bad = await verifyComplianceExportStream(() => chunked(forged, 13), { publicKey: key });
    expect(bad).toEqual(verifyComplianceExport(forged, { publicKey: key }));
    expect(bad.valid).toBe(false);
    const cut = await verifyComplianceExportStream(() => chunked(text.slice(0, text.length / 2), 13), {});
    expect(cut).toMatchObject({ valid: false, failures: [expect.objectContaining({ check: "format" })] });
  });
});
