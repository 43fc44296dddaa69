// Timing, percentiles and peak-RSS measurement shared by every scenario.
import { readFileSync, writeFileSync } from "node:fs";
import type { CpuProbe } from "./cpu-probe.js";
import type { Measurement } from "./scenario.js";

/**
 * The peak RSS in MiB between this call and `stop()`. On Linux it is the kernel's own high-water mark (`VmHWM`),
 * reset at the start through `/proc/self/clear_refs`: exact, and free, where sampling costs the process under test
 * CPU and misses short peaks. Elsewhere, or inside another window (whose mark a reset would clear), RSS is sampled
 * every `intervalMs`.
 */
export function sampleRss(intervalMs = 5): { stop(): number } {
  if (openWindows === 0 && resetHighWaterMark()) {
    openWindows += 1;
    return {
      stop() {
        openWindows -= 1;
        return Math.max(highWaterMarkKb() ?? 0, process.memoryUsage.rss() / 1024) / 1024;
      },
    };
  }
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

let openWindows = 0;

function resetHighWaterMark(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return highWaterMarkKb() !== undefined;
  } catch {
    return false;
  }
}

function highWaterMarkKb(): number | undefined {
  try {
    const found = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return found ? Number(found[1]) : undefined;
  } catch {
    return undefined;
  }
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
  /** Started after the warm-up; its figures for the measured phase join `extra`. */
  probe?: () => CpuProbe;
}

/**
 * Runs `operation` `operations` times with `concurrency` workers and times each one. Synchronous operations are
 * not awaited, so a pure function is timed without promise overhead.
 */
export async function measureLatencies(run: LatencyRun): Promise<Measurement> {
  const rss = sampleRss();
  const { latencies, seconds, probed } = await timeOperations(run);
  const extra = run.extra || probed ? { ...run.extra, ...probed } : undefined;
  return latencyMeasurement(run.label, latencies, seconds, rss.stop(), extra);
}

/** The timing half of `measureLatencies`, without RSS sampling: load generators in other processes use it. */
export async function timeOperations(
  run: Omit<LatencyRun, "label" | "extra">,
): Promise<{ latencies: Float64Array; seconds: number; probed?: Record<string, number> }> {
  const concurrency = Math.max(1, run.concurrency ?? 1);
  for (let i = 0; i < (run.warmup ?? 0); i++) {
    const pending = run.operation(i);
    if (pending instanceof Promise) await pending;
  }
  const latencies = new Float64Array(run.operations);
  let next = 0;
  const probe = run.probe?.();
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
  return { latencies, seconds, ...(probe && { probed: probe.stop(run.operations) }) };
}

/** A Measurement from per-operation latencies (ms, any order) taken over `seconds`. */
export function latencyMeasurement(
  label: string,
  latencies: Float64Array,
  seconds: number,
  peakRssMb: number,
  extra?: Record<string, number | string>,
): Measurement {
  const sorted = Float64Array.from(latencies).sort();
  return {
    label,
    operations: sorted.length,
    seconds,
    throughput: sorted.length / seconds,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    peakRssMb,
    ...(extra && { extra }),
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
