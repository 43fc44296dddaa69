// verify: `governor.audit.verify(tenantId)` over a chain of 1,000,000 records (quick: 100,000) in a SQLite file,
// against raw SHA-256 of the same canonical bytes.
import { hash } from "node:crypto";
import { availableParallelism } from "node:os";
import { canonicalJson, HASHED_FIELDS } from "../../src/audit/chain.js";
import type { AuditRecord } from "../../src/audit/types.js";
import { chainFixture, cpuSeconds, openGovernor } from "../lib/audit-fixture.js";
import { measureBulk } from "../lib/measure.js";
import type { BenchContext, Measurement, Scenario, ScenarioResult } from "../lib/scenario.js";

const TARGET_RECORDS_PER_SECOND = 500_000;
// Records whose canonical text is held at once while the baseline is prepared (the text of a million would not fit
// comfortably in memory); only the hashing is timed.
const BASELINE_BATCH = 20_000;

export const verify: Scenario = {
  name: "verify",
  description: "chain verification of audit records read from SQLite (governor.audit.verify)",
  async run(context: BenchContext): Promise<ScenarioResult> {
    const events = context.quick ? 100_000 : 1_000_000;
    context.log(`verify: building a chain of ${events} records (setup, not measured)`);
    const warm = await chainFixture(10_000);
    const fixture = await chainFixture(events);
    const governor = await openGovernor();
    try {
      // Warm the JIT on a small chain; the page cache is warm for both measurements (the file was just written).
      const warmResult = await governor.audit.verify(warm.tenantId);
      if (!warmResult.valid) throw new Error(`warm-up chain does not verify: ${warmResult.reason}`);

      globalThis.gc?.();
      context.log(`verify: verifying ${fixture.records} records`);
      let verification: Awaited<ReturnType<typeof governor.audit.verify>> | undefined;
      let cpu = 0;
      const measured = await measureBulk(
        `governor.audit.verify, ${fixture.records} records (SQLite)`,
        fixture.records,
        async () => {
          cpu = await cpuSeconds(async () => {
            verification = await governor.audit.verify(fixture.tenantId);
          });
        },
      );
      if (!verification?.valid || verification.record_count !== fixture.records) {
        throw new Error(`verify: the chain did not verify: ${JSON.stringify(verification)}`);
      }

      // The same verification on the calling thread alone (no worker threads), reported beside it.
      globalThis.gc?.();
      context.log(`verify: verifying ${fixture.records} records on one thread (reported, not the target)`);
      const walker = await openGovernor({ verifyThreads: 0 });
      let walk: Measurement;
      try {
        walk = await measureBulk("walk on one thread", fixture.records, () => walker.audit.verify(fixture.tenantId));
      } finally {
        await walker.close();
      }

      globalThis.gc?.();
      context.log("verify: baseline (SHA-256 of the same canonical bytes)");
      const baseline = await hashBaseline(governor.audit.records(fixture.tenantId), fixture.records);
      const ratio = measured.throughput / baseline.throughput;
      return {
        measured: {
          ...measured,
          // The storage checks a long chain in one part per core, each on a worker thread (its default).
          extra: {
            ratio_to_baseline: round(ratio),
            cpu_seconds: cpu,
            cores: availableParallelism(),
            one_thread_records_per_s: Math.round(walk.throughput),
          },
        },
        baseline,
        target: "≥ 500,000 records/s",
        targetMet: measured.throughput >= TARGET_RECORDS_PER_SECOND,
        notes:
          "Baseline: the same records' canonical texts (RFC 8785, computed beforehand in batches, untimed) hashed " +
          "with one-shot crypto.hash('sha256', text, 'hex') on one thread; only the hashing is timed. Verification " +
          "checks the chain in one part per core, on worker threads; cpu_seconds counts every thread; " +
          "one_thread_records_per_s is the same verification walked on the calling thread alone.",
      };
    } finally {
      await governor.close();
    }
  },
};

async function hashBaseline(records: AsyncIterable<AuditRecord>, expected: number): Promise<Measurement> {
  let texts: string[] = [];
  let bytes = 0;
  let count = 0;
  let nanos = 0n;
  let check = "";
  const hashAll = () => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < texts.length; i++) check = hash("sha256", texts[i] as string, "hex");
    nanos += process.hrtime.bigint() - started;
    count += texts.length;
    texts = [];
  };
  let peak = process.memoryUsage.rss();
  for await (const record of records) {
    const payload: Record<string, unknown> = {};
    for (const field of HASHED_FIELDS) payload[field] = record[field];
    const text = canonicalJson(payload);
    bytes += Buffer.byteLength(text);
    texts.push(text);
    if (texts.length === BASELINE_BATCH) {
      peak = Math.max(peak, process.memoryUsage.rss());
      hashAll();
    }
  }
  hashAll();
  if (count !== expected || check.length !== 64) throw new Error(`verify baseline hashed ${count} of ${expected}`);
  const seconds = Number(nanos) / 1e9;
  return {
    label: `crypto.hash sha256 of ${count} canonical record texts`,
    operations: count,
    seconds,
    throughput: count / seconds,
    peakRssMb: peak / (1024 * 1024),
    extra: { mean_canonical_bytes: Math.round(bytes / count) },
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
