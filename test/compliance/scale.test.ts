import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { afterAll, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../src/audit/types.js";
import { verifyComplianceExportStream } from "../../src/compliance/verify.js";
import { VargateGovernor } from "../../src/governor.js";
import { memoryStorage } from "../../src/storage/memory-entry.js";
import { sessionEntry, storeSession } from "./helpers.js";

const EVENTS = 100_000;
const BATCH = 2000;
const dir = mkdtempSync(join(tmpdir(), "vargate-compliance-scale-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("compliance export at scale", () => {
  it("streams a 100,000-event session to a file that the offline verifier accepts record by record", async () => {
    const governor = new VargateGovernor({ storage: memoryStorage() });
    await governor.migrate();
    const { tenant } = await governor.tenants.create({ tenant_id: "scale" });
    const tenantId = tenant.tenant_id;
    const sessionId = "vs-00000000000000ab";
    const agentId = await storeSession(governor, tenantId, sessionId);
    // Every 10th event is governed, every 50th of those denied; records of another session are interleaved.
    let governed = 0;
    let denied = 0;
    for (let start = 0; start < EVENTS; start += BATCH) {
      const entries: AuditEntry[] = [];
      for (let i = start; i < start + BATCH; i++) {
        const entry = sessionEntry(sessionId, agentId, i);
        if (entry.source === "mcp_governed") governed += 1;
        if (entry.decision === "deny") denied += 1;
        entries.push(entry);
        if (i % 1000 === 0) {
          entries.push({ ...(entries.at(-1) as AuditEntry), action_id: `other-${i}`, session_id: "vs-other" });
        }
      }
      await governor.storage.audit.append(tenantId, entries);
    }

    const file = join(dir, "export.json");
    const stream = await governor.compliance.exportStream(tenantId, sessionId);
    await pipeline(Readable.fromWeb(stream as WebReadableStream<Uint8Array>), createWriteStream(file));
    expect(statSync(file).size).toBeGreaterThan(EVENTS * 100);

    const { public_key_pem } = await governor.checkpoints.publicKey(tenantId);
    const result = await verifyComplianceExportStream(() => createReadStream(file), { publicKey: public_key_pem });
    expect(result.failures).toEqual([]);
    expect(result).toMatchObject({ valid: true, records: EVENTS });

    // The summary, read back without parsing the whole file.
    const head = await new Promise<string>((resolve, reject) => {
      let text = "";
      createReadStream(file, { start: 0, end: 64 * 1024 })
        .on("data", (chunk) => {
          text += chunk;
        })
        .on("end", () => resolve(text))
        .on("error", reject);
    });
    const summary = JSON.parse(/"summary":(\{[^}]*\})/.exec(head)?.[1] as string);
    expect(summary).toEqual({
      total_events: EVENTS,
      governed_calls: governed,
      observed_calls: EVENTS - governed,
      denied,
      pending: 0,
      anomalies_detected: 0,
      denial_rate: `${((denied / EVENTS) * 100).toFixed(2)}%`,
      approvals_used: 0,
    });
  }, 300_000);
});
