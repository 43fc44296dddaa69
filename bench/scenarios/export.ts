// export: the compliance export of a 100,000-event session, streamed (`governor.compliance.exportStream`, what
// GET /managed/sessions/{id}/compliance sends) to a file and consumed to the end. Absolute target; the offline
// verifier's time on the same file is reported beside it.
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { verifyComplianceExportStream } from "../../src/compliance/verify.js";
import type { VargateGovernor } from "../../src/governor.js";
import { cpuSeconds, fixtureFile, openGovernor, type SessionFixture, sessionFixture } from "../lib/audit-fixture.js";
import { runInChild } from "../lib/child-task.js";
import { measureBulk } from "../lib/measure.js";
import type { BenchContext, Measurement, Scenario, ScenarioResult } from "../lib/scenario.js";

const EVENTS = 100_000;
const TARGET_SECONDS = 3;
const TARGET_RSS_MB = 300;

export const exportScenario: Scenario = {
  name: "export",
  description: "compliance export of a 100,000-event session streamed to a file (SQLite)",
  async run(context: BenchContext): Promise<ScenarioResult> {
    context.log(`export: building a session of ${EVENTS} events (setup, not measured)`);
    const warm = await sessionFixture(2_000);
    const fixture = await sessionFixture(EVENTS);
    context.log(`export: exporting ${fixture.events} events, then verifying the file offline, in a fresh process`);
    const measured = await runInChild<Measurement>(import.meta.url, "measureExport", [warm, fixture, context.tmpDir], {
      VARGATE_BENCH_FIXTURE_FILE: fixtureFile(),
    });
    return {
      measured,
      target: "< 3 s and peak RSS < 300 MB",
      targetMet: measured.seconds < TARGET_SECONDS && measured.peakRssMb < TARGET_RSS_MB,
      notes:
        "The first export of the session: it verifies the tenant's chain, creates and signs a checkpoint over it, " +
        "and writes an inclusion proof per record. It runs in a fresh process (after a warm-up export of a small " +
        "session), so its peak RSS is the export's own, not what earlier scenarios left behind; the fixture is " +
        "built in another child process.",
    };
  },
};

/** The measurement, run in a child process by `runInChild` on the fixture file the parent built. */
export async function measureExport(warm: SessionFixture, fixture: SessionFixture, tmpDir: string) {
  const governor = await openGovernor();
  try {
    // Warm-up: a small session's export, so the measurement is not of the JIT.
    await exportTo(governor, warm.tenantId, warm.sessionId, join(tmpDir, "warm.json"));

    const file = join(tmpDir, "export.json");
    globalThis.gc?.();
    const rssBefore = process.memoryUsage.rss() / (1024 * 1024);
    const checkpointBefore = await governor.checkpoints.latest(fixture.tenantId);
    let cpu = 0;
    const measured = await measureBulk(
      `compliance exportStream, ${fixture.events}-event session`,
      fixture.events,
      async () => {
        cpu = await cpuSeconds(() => exportTo(governor, fixture.tenantId, fixture.sessionId, file));
      },
    );
    const bytes = statSync(file).size;

    // Offline verification of the file: reported, not the target.
    const { public_key_pem } = await governor.checkpoints.publicKey(fixture.tenantId);
    const started = process.hrtime.bigint();
    const verification = await verifyComplianceExportStream(() => createReadStream(file), {
      publicKey: public_key_pem,
    });
    const verifySeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (!verification.valid || verification.records !== fixture.events) {
      throw new Error(`export: the export does not verify: ${JSON.stringify(verification.failures.slice(0, 3))}`);
    }
    return {
      ...measured,
      extra: {
        bytes,
        cpu_seconds: cpu,
        checkpoint: checkpointBefore ? "reused" : "created",
        mb_per_second: Math.round((bytes / (1024 * 1024) / measured.seconds) * 10) / 10,
        rss_before_mb: Math.round(rssBefore),
        offline_verify_seconds: Math.round(verifySeconds * 1000) / 1000,
        offline_verify_records_per_second: Math.round(fixture.events / verifySeconds),
      },
    } satisfies Measurement;
  } finally {
    await governor.close();
  }
}

async function exportTo(governor: VargateGovernor, tenantId: string, sessionId: string, file: string): Promise<void> {
  const stream = await governor.compliance.exportStream(tenantId, sessionId);
  await pipeline(Readable.fromWeb(stream as WebReadableStream<Uint8Array>), createWriteStream(file));
}
