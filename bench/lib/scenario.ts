// The contract every benchmark scenario implements; bench/run.ts runs them in one process and writes results.json.

/** What the runner hands each scenario. */
export interface BenchContext {
  /** `--quick`: smaller sizes so the whole run takes under two minutes. */
  readonly quick: boolean;
  /** A fresh directory for this scenario's files (SQLite databases, exports); removed afterwards. */
  readonly tmpDir: string;
  /** PostgreSQL URL when one answers (VARGATE_BENCH_POSTGRES_URL, default local), else undefined: skip. */
  readonly postgresUrl: string | undefined;
  /** Progress line on stderr. */
  log(message: string): void;
  /**
   * Results of the scenarios that already ran in this process, by name (replay reads decision's throughput).
   * Optional so that a scenario can also be run on its own; absent entries mean "not run" (or `--only`).
   */
  readonly results?: ReadonlyMap<string, ScenarioResult>;
}

/** One measured workload: the system under test or its baseline. */
export interface Measurement {
  /** What ran, e.g. "vargate decision, 100 rules" or "cedar-wasm isAuthorized". */
  readonly label: string;
  readonly operations: number;
  readonly seconds: number;
  /** Operations per second. */
  readonly throughput: number;
  /** Latency percentiles of single operations, in milliseconds; omitted for bulk-only workloads. */
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** Peak resident set size sampled while this workload ran, in MiB. */
  readonly peakRssMb: number;
  /** Anything else worth reporting (heap per consumer, bytes exported, ...). */
  readonly extra?: Readonly<Record<string, number | string>>;
}

export interface ScenarioResult {
  readonly measured: Measurement;
  /** Measured in the same run; absent for absolute scenarios (`export`, `consumers`). */
  readonly baseline?: Measurement;
  /** The target from issue 7, as text, e.g. "p99 ≤ 20 µs and throughput ≥ Cedar's". */
  readonly target: string;
  /** Whether the target was met in this run; reported, never asserted. */
  readonly targetMet: boolean;
  readonly notes?: string;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  run(context: BenchContext): Promise<ScenarioResult>;
}
