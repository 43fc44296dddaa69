// Timing, percentiles and peak-RSS sampling shared by every scenario.
import type { Measurement } from "./scenario.js";

/** Samples RSS every `intervalMs` until stopped; returns the peak in MiB (sampling also runs at start and stop). */
export function sampleRss(intervalMs = 5): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return peak / (1024 * 1024);
    },
  };
}

/** The q-quantile (0..1) of ascending-sorted values (nearest rank). */
export function quantile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] as number;
}

export interface LatencyRun {
  label: string;
  /** How many operations to run in total. */
  operations: number;
  /** How many run at once (async workers); 1 runs them one after another. */
  concurrency?: number;
  /** Operations run first and not measured (JIT, caches, connections). */
  warmup?: number;
  /** One operation; `index` counts from 0 across all workers. */
  operation(index: number): unknown;
  extra?: Record<string, number | string>;
}

/**
 * Runs `operation` `operations` times with `concurrency` workers and times each one. Synchronous operations are
 * not awaited, so a pure function is timed without promise overhead.
 */
export async function measureLatencies(run: LatencyRun): Promise<Measurement> {
  const concurrency = Math.max(1, run.concurrency ?? 1);
  for (let i = 0; i < (run.warmup ?? 0); i++) {
    const pending = run.operation(i);
    if (pending instanceof Promise) await pending;
  }

  const latencies = new Float64Array(run.operations);
  let next = 0;
  const rss = sampleRss();
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < run.operations) {
      const index = next++;
      const begin = process.hrtime.bigint();
      const pending = run.operation(index);
      if (pending instanceof Promise) await pending;
      latencies[index] = Number(process.hrtime.bigint() - begin) / 1e6;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peakRssMb = rss.stop();
  latencies.sort();
  return {
    label: run.label,
    operations: run.operations,
    seconds,
    throughput: run.operations / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    peakRssMb,
    ...(run.extra && { extra: run.extra }),
  };
}

/** Times one bulk workload that performs `operations` operations in a single call (no per-operation latency). */
export async function measureBulk(
  label: string,
  operations: number,
  workload: () => unknown,
  extra?: Record<string, number | string>,
): Promise<Measurement> {
  const rss = sampleRss();
  const started = process.hrtime.bigint();
  await workload();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    label,
    operations,
    seconds,
    throughput: operations / seconds,
    peakRssMb: rss.stop(),
    ...(extra && { extra }),
  };
}
