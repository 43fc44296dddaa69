// `npm run bench [-- --quick] [--only a,b] [--out file]`: runs the scenarios of bench/scenarios/index.ts in one
// process, prints a table and writes bench/results.json (its `quick` field tells a quick run from a full one; the
// committed file is the full run of docs/performance.md). It reports and asserts nothing: a failing scenario is
// recorded and the others still run.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { referenceRate } from "./lib/machine-speed.js";
import type { BenchContext, Measurement, Scenario, ScenarioResult } from "./lib/scenario.js";

const DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test";
const POSTGRES_PROBE_MS = 2000;

export interface BenchOptions {
  quick: boolean;
  /** Scenario names to run; all when undefined. */
  only?: readonly string[];
  /** Where results go. @default bench/results.json */
  outFile?: string;
}

interface ScenarioReport {
  description: string;
  measured: Measurement | null;
  baseline: Measurement | null;
  /** measured.throughput / baseline.throughput; null without a baseline. */
  ratio: number | null;
  target: string;
  target_met: boolean;
  notes: string | null;
  /**
   * Rounds per second of a fixed reference workload measured just before the scenario (`bench/lib/machine-speed.ts`):
   * how fast the shared machine was at the time. Compare figures across runs only at similar reference rates.
   */
  reference_rate: number;
  /** Set when the scenario threw; its figures are then missing. */
  error?: string;
}

export interface BenchResults {
  generated_at: string;
  quick: boolean;
  machine: {
    node: string;
    cpus: { model: string; count: number };
    total_memory_mb: number;
    platform: string;
  };
  scenarios: Record<string, ScenarioReport>;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: { quick: { type: "boolean", default: false }, only: { type: "string" }, out: { type: "string" } },
    allowPositionals: false,
  });
  const only = values.only
    ?.split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  return {
    quick: values.quick ?? false,
    ...(only && only.length > 0 && { only }),
    ...(values.out !== undefined && { outFile: path.resolve(values.out) }),
  };
}

/** Runs `scenarios` (or the `only` ones, in their given order), prints the table and writes the results file. */
export async function runBench(scenarios: readonly Scenario[], options: BenchOptions): Promise<BenchResults> {
  const selected = options.only ? selectScenarios(scenarios, options.only) : scenarios;
  const postgresUrl = await findPostgres();
  const log = (message: string) => process.stderr.write(`${message}\n`);
  log(
    `bench: ${options.quick ? "quick" : "full"} run of ${selected.map((s) => s.name).join(", ")}; PostgreSQL ${postgresUrl ? "available" : "not available (postgres scenarios skip)"}`,
  );

  const results: BenchResults = {
    generated_at: new Date().toISOString(),
    quick: options.quick,
    machine: machine(),
    scenarios: {},
  };
  const finished = new Map<string, ScenarioResult>();
  for (const scenario of selected) {
    // Each scenario starts from a collected heap and its own directory, so one does not skew the next.
    global.gc?.();
    const tmpDir = await mkdtemp(path.join(os.tmpdir(), `vargate-bench-${scenario.name}-`));
    const context: BenchContext = {
      quick: options.quick,
      tmpDir,
      postgresUrl,
      results: finished,
      log: (message) => log(`[${scenario.name}] ${message}`),
    };
    const started = Date.now();
    const reference = referenceRate();
    try {
      const result = await scenario.run(context);
      finished.set(scenario.name, result);
      results.scenarios[scenario.name] = report(scenario, result, reference);
      log(`[${scenario.name}] done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`[${scenario.name}] FAILED: ${message}`);
      results.scenarios[scenario.name] = {
        description: scenario.description,
        measured: null,
        baseline: null,
        ratio: null,
        target: "",
        target_met: false,
        notes: null,
        reference_rate: reference,
        error: error instanceof Error ? error.message : String(error),
      };
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
  }

  process.stdout.write(`${formatTable(results)}\n`);
  const outFile = options.outFile ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "results.json");
  await writeFile(outFile, `${JSON.stringify(results, null, 2)}\n`);
  log(`bench: wrote ${path.relative(process.cwd(), outFile)}`);
  return results;
}

function selectScenarios(scenarios: readonly Scenario[], names: readonly string[]): Scenario[] {
  const byName = new Map(scenarios.map((scenario) => [scenario.name, scenario]));
  const unknown = names.filter((name) => !byName.has(name));
  if (unknown.length > 0) {
    throw new Error(`Unknown scenario ${unknown.join(", ")}; known: ${[...byName.keys()].join(", ")}`);
  }
  return names.map((name) => byName.get(name) as Scenario);
}

function report(scenario: Scenario, result: ScenarioResult, referenceRate: number): ScenarioReport {
  const baseline = result.baseline ?? null;
  return {
    description: scenario.description,
    measured: result.measured,
    baseline,
    ratio: baseline && baseline.throughput > 0 ? result.measured.throughput / baseline.throughput : null,
    target: result.target,
    target_met: result.targetMet,
    notes: result.notes ?? null,
    reference_rate: referenceRate,
  };
}

/** VARGATE_BENCH_POSTGRES_URL, else the local default when it answers within 2 s, else undefined. */
async function findPostgres(): Promise<string | undefined> {
  const configured = process.env.VARGATE_BENCH_POSTGRES_URL;
  if (configured) return configured;
  let pg: typeof import("pg");
  try {
    pg = (await import("pg")).default as unknown as typeof import("pg");
  } catch {
    return undefined;
  }
  const client = new pg.Client({ connectionString: DEFAULT_POSTGRES_URL, connectionTimeoutMillis: POSTGRES_PROBE_MS });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("select 1");
    return DEFAULT_POSTGRES_URL;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function machine(): BenchResults["machine"] {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpus: { model: cpus[0]?.model.trim() ?? "unknown", count: cpus.length },
    total_memory_mb: Math.round(os.totalmem() / (1024 * 1024)),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

function formatTable(results: BenchResults): string {
  const header = [
    "scenario",
    "throughput/s",
    "p50",
    "p99",
    "peak RSS",
    "baseline/s",
    "ratio",
    "reference/s",
    "target",
    "met",
  ];
  const rows = Object.entries(results.scenarios).map(([name, entry]) => {
    if (entry.error !== undefined || entry.measured === null) {
      return [name, "error", "", "", "", "", "", "", entry.error?.slice(0, 60) ?? "", "no"];
    }
    const { measured, baseline } = entry;
    return [
      name,
      formatRate(measured.throughput),
      formatLatency(measured.p50Ms),
      formatLatency(measured.p99Ms),
      `${measured.peakRssMb.toFixed(0)} MB`,
      baseline ? formatRate(baseline.throughput) : "-",
      entry.ratio === null ? "-" : entry.ratio.toFixed(2),
      formatRate(entry.reference_rate),
      entry.target,
      entry.target_met ? "yes" : "no",
    ];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ");
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

function formatRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString("en-US");
}

function formatLatency(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return "-";
  return ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2));
  const { scenarios } = await import("./scenarios/index.js");
  await runBench(scenarios, options);
}

// Run when executed (`node --import tsx bench/run.ts`), not when imported.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
