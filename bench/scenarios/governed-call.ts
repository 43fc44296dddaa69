// governed_call_sqlite / governed_call_postgres: governor.governedCalls.call end to end (policy decision, durable
// hash-chained audit append, the result update of an allowed call, a no-op tool) under concurrent callers, against
// bare driver inserts of rows of the same size and durability.
import { randomBytes } from "node:crypto";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import * as z from "zod";
import { VargateGovernor } from "../../src/governor.js";
import { randomIds } from "../../src/ids.js";
import type { JsonObject } from "../../src/json.js";
import type { SessionRecord } from "../../src/sessions/types.js";
import { kyselyStorageFromUrl } from "../../src/storage/kysely/from-url.js";
import { VARGATE_TABLES } from "../../src/storage/kysely/schema.js";
import type { VargateStorage } from "../../src/storage/port.js";
import { defineTool } from "../../src/tools/define.js";
import { startCpuProbe } from "../lib/cpu-probe.js";
import { measureLatencies } from "../lib/measure.js";
import type { BenchContext, Measurement, Scenario, ScenarioResult } from "../lib/scenario.js";
import { seedActiveSession } from "../lib/sessions.js";
import { BENCH_AGENT, benchPolicy } from "./decision.js";

const TENANT = "bench-tenant";
const CALLERS = 16;
const SQLITE_TARGET_RATE = 10_000;

/** The no-op governed tools: every allowed tool of the bench agent, answering at once. */
function noopTools() {
  return BENCH_AGENT.allowed_tools.map((name) =>
    defineTool({
      name,
      description: `No-op ${name}`,
      inputSchema: z.looseObject({}),
      execute: async () => ({ ok: true }),
    }),
  );
}

/** Typical inputs of allowed calls (the bench policy allows each of them). */
const CALLS: { tool: string; input: JsonObject }[] = [
  { tool: "crm_lookup", input: { customer_id: "cus_8fa2c1", segment: "smb" } },
  { tool: "search_docs", input: { query: "refund policy", collection: "support" } },
  { tool: "db_query", input: { query: "SELECT id, status FROM orders WHERE id = 42" } },
  { tool: "ticket_create", input: { title: "Card declined", priority: "p2" } },
];

interface Deployment {
  governors: VargateGovernor[];
  /** One active session per caller: concurrent calls come from concurrent agent sessions. */
  sessions: SessionRecord[];
}

/** Tenant, policy, agent and one active session, stored through the first governor. */
async function deploy(storages: VargateStorage[]): Promise<Deployment> {
  // The default credential store (as embedded deployments run it) needs a key; the no-op tools read no secret.
  process.env.VARGATE_CREDENTIAL_KEY ??= randomBytes(32).toString("hex");
  const governors = storages.map((storage) => new VargateGovernor({ storage, tools: noopTools() }));
  const [first] = governors as [VargateGovernor];
  await first.migrate();
  await first.tenants.create({ tenant_id: TENANT });
  await first.policy.put(TENANT, benchPolicy());
  const agent = await first.agents.create(TENANT, { name: "bench agent", ...BENCH_AGENT });
  const sessions: SessionRecord[] = [];
  for (let i = 0; i < CALLERS; i++) sessions.push((await seedActiveSession(first.storage, TENANT, agent)).session);
  return { governors, sessions };
}

/** Runs `operations` governed calls, `callers` at once, spread over the governors (caller i uses governor i % n). */
async function measureCalls(
  label: string,
  { governors, sessions }: Deployment,
  operations: number,
  callers: number,
  probe: () => ReturnType<typeof startCpuProbe>,
): Promise<Measurement> {
  let allowed = 0;
  const call = async (index: number) => {
    const governor = governors[index % governors.length] as VargateGovernor;
    const session = sessions[index % sessions.length] as SessionRecord;
    const { tool, input } = CALLS[Math.floor(index / sessions.length) % CALLS.length] as (typeof CALLS)[number];
    const outcome = await governor.governedCalls.call({ session, tool, input: { ...input } });
    if (outcome.kind !== "allowed")
      throw new Error(`governed-call bench: expected an allowed call, got ${outcome.kind}`);
    allowed++;
  };
  const measured = await measureLatencies({
    label,
    operations,
    concurrency: callers,
    warmup: Math.min(500, operations / 10),
    operation: call,
    extra: { callers, governors: governors.length },
    probe,
  });
  return { ...measured, extra: { ...measured.extra, allowed } };
}

/** Checks the chain the calls built: every record sealed after the previous one, across all governors. */
async function verifiedRecords(governor: VargateGovernor): Promise<number> {
  const verification = await governor.audit.verify(TENANT);
  if (!verification.valid) throw new Error(`governed-call bench: chain broken: ${JSON.stringify(verification)}`);
  return verification.record_count;
}

type AuditRow = Record<string, unknown> & { seq: number | string; action_id: string };

/**
 * Copies of stored governed rows for the baseline: a fresh seq and action id each (from vargate's own id
 * generator, so both sides insert ids of the same kind), every other byte the same.
 */
function rowFactory(samples: AuditRow[], tenantId: string) {
  let seq = 0;
  return (index: number): AuditRow => {
    const sample = samples[index % samples.length] as AuditRow;
    seq += 1;
    return { ...sample, tenant_id: tenantId, seq, action_id: randomIds.actionId() };
  };
}

function rowBytes(row: AuditRow): number {
  let bytes = 0;
  for (const value of Object.values(row)) bytes += Buffer.byteLength(String(value ?? ""));
  return bytes;
}

async function sqliteRun(context: BenchContext): Promise<ScenarioResult> {
  const file = path.join(context.tmpDir, "governed.db");
  const storage = kyselyStorageFromUrl(file);
  const deployment = await deploy([storage]);
  const operations = context.quick ? 4_000 : 100_000;
  const measured = await measureCalls(
    "governor.governedCalls.call, SQLite file (WAL), 16 callers",
    deployment,
    operations,
    CALLERS,
    startCpuProbe,
  );
  const records = await verifiedRecords(deployment.governors[0] as VargateGovernor);
  await deployment.governors[0]?.stop();

  // The baseline writes copies of the governed rows just stored, into the same table shape (same migrations),
  // with the same journal mode and synchronous setting, one transaction (autocommit) per row.
  const database = new Database(file);
  const samples = database
    .prepare(`select * from ${VARGATE_TABLES.auditLog} where source = 'mcp_governed' order by seq limit 1000`)
    .all() as AuditRow[];
  const journal = database.pragma("journal_mode", { simple: true });
  database.close();
  // What vargate's SQLite storage sets on its connection (from-url.ts): FULL, a durable commit per transaction.
  const synchronous = "FULL";
  const bareFile = path.join(context.tmpDir, "bare.db");
  const bareStorage = kyselyStorageFromUrl(bareFile);
  await bareStorage.migrate();
  await bareStorage.close();
  const bare = new Database(bareFile);
  bare.pragma(`journal_mode = ${journal}`);
  bare.pragma(`synchronous = ${synchronous}`);
  const columns = Object.keys(samples[0] ?? {});
  const insert = bare.prepare(
    `insert into ${VARGATE_TABLES.auditLog} (${columns.join(", ")}) values (${columns.map((c) => `@${c}`).join(", ")})`,
  );
  const row = rowFactory(samples, "bench-tenanX");
  const baseline = await measureLatencies({
    label: `bare better-sqlite3 insert, same table and row size, journal_mode=${journal}, synchronous=${synchronous}`,
    operations,
    warmup: 0,
    operation: (index) => insert.run(row(index)),
    probe: startCpuProbe,
  });
  bare.close();

  const ratio = measured.throughput / baseline.throughput;
  return {
    measured: { ...measured, extra: { ...measured.extra, chain_records: records } },
    baseline,
    target: "≥ 10,000 calls/s and ≥ 50% of the bare insert rate",
    targetMet: measured.throughput >= SQLITE_TARGET_RATE && ratio >= 0.5,
    notes: `Audit rows average ${Math.round(samples.reduce((sum, r) => sum + rowBytes(r), 0) / Math.max(1, samples.length))} bytes of column data; journal_mode=${journal}, synchronous=${synchronous}; the chain verified after the run (${records} records).`,
  };
}

/** CPU per call of this process and of PostgreSQL's backends, when the server runs on this machine. */
const probePostgres = () => startCpuProbe({ postgres: true });

async function postgresRun(context: BenchContext): Promise<ScenarioResult> {
  const url = context.postgresUrl;
  const target = "≥ 50% of the bare insert rate";
  if (url === undefined) {
    const none: Measurement = { label: "skipped", operations: 0, seconds: 0, throughput: 0, peakRssMb: 0 };
    return { measured: none, target, targetMet: false, notes: "Skipped: no PostgreSQL answered." };
  }
  const schema = `vargate_bench_${process.pid}_${Date.now().toString(36)}`;
  const bareSchema = `${schema}_bare`;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  const inSchema = (name: string) => {
    const u = new URL(url);
    u.searchParams.set("options", `-c search_path=${name}`);
    return u.toString();
  };
  const callers = CALLERS;
  const storages: VargateStorage[] = [];
  try {
    await admin.query(`create schema ${schema}`);
    await admin.query(`create schema ${bareSchema}`);
    storages.push(kyselyStorageFromUrl(inSchema(schema)), kyselyStorageFromUrl(inSchema(schema)));
    const deployment = await deploy(storages);
    const operations = context.quick ? 2_000 : 30_000;
    const measured = await measureCalls(
      "governor.governedCalls.call, PostgreSQL, two governors (pools of 10), 16 callers",
      deployment,
      operations,
      callers,
      probePostgres,
    );
    const records = await verifiedRecords(deployment.governors[1] as VargateGovernor);

    const samples = (
      await admin.query(
        `select * from ${schema}.${VARGATE_TABLES.auditLog} where source = 'mcp_governed' order by seq limit 1000`,
      )
    ).rows as AuditRow[];
    const bareStorage = kyselyStorageFromUrl(inSchema(bareSchema));
    await bareStorage.migrate();
    await bareStorage.close();
    // Two pools of 10, like the two governors; each insert is its own transaction (autocommit).
    const pools = [0, 1].map(() => new pg.Pool({ connectionString: inSchema(bareSchema), max: 10 }));
    const columns = Object.keys(samples[0] ?? {});
    const text = `insert into ${VARGATE_TABLES.auditLog} (${columns.join(", ")}) values (${columns.map((_, i) => `$${i + 1}`).join(", ")})`;
    const row = rowFactory(samples, "bench-tenanX");
    const baseline = await measureLatencies({
      label: "bare pg insert, same table and row size, two pools of 10, 16 callers",
      operations,
      concurrency: callers,
      warmup: 200,
      probe: probePostgres,
      operation: (index) => {
        const values = row(index);
        return (pools[index % 2] as pg.Pool).query(
          text,
          columns.map((c) => values[c]),
        );
      },
    });
    await Promise.all(pools.map((pool) => pool.end()));
    const synchronous = (await admin.query("show synchronous_commit")).rows[0]?.synchronous_commit;
    const ratio = measured.throughput / baseline.throughput;
    return {
      measured: { ...measured, extra: { ...measured.extra, chain_records: records } },
      baseline,
      target,
      targetMet: ratio >= 0.5,
      notes: `Both governors append to one tenant's chain (verified after the run: ${records} records, linear). synchronous_commit=${synchronous}; audit rows average ${Math.round(samples.reduce((sum, r) => sum + rowBytes(r), 0) / Math.max(1, samples.length))} bytes of column data.`,
    };
  } finally {
    for (const storage of storages) await storage.close().catch(() => undefined);
    await admin.query(`drop schema if exists ${schema} cascade`).catch(() => undefined);
    await admin.query(`drop schema if exists ${bareSchema} cascade`).catch(() => undefined);
    await admin.end();
  }
}

export const governedCallSqlite: Scenario = {
  name: "governed_call_sqlite",
  description:
    "governor.governedCalls.call (decision with the 100-rule policy + hash-chained audit append + result update, no-op tool) on a SQLite file in WAL mode, 16 concurrent callers; baseline: bare better-sqlite3 inserts of the same rows",
  run: sqliteRun,
};

export const governedCallPostgres: Scenario = {
  name: "governed_call_postgres",
  description:
    "The same governed call on the local PostgreSQL with two governor instances sharing one tenant's chain; baseline: bare pg inserts of the same rows with the same pools",
  run: postgresRun,
};
