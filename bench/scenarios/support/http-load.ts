// The parent side of http-load-child.ts: run HTTP load from another process and get its latencies back.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { latencyMeasurement, sampleRss } from "../../lib/measure.js";
import type { Measurement } from "../../lib/scenario.js";

interface LoadShape {
  operations: number;
  warmup: number;
  concurrency: number;
  tool: string;
  arguments: Record<string, unknown>;
}

export type LoadRequest =
  | (LoadShape & { mode: "mcp"; client: "wire" | "sdk"; endpoints: { url: string; token: string }[] })
  | (LoadShape & { mode: "echo"; url: string });

export type LoadReply =
  | { type: "done"; latencies: number[]; seconds: number; clientCpuUs: number }
  | { type: "error"; message: string };

/**
 * Runs `request` in a child process and returns the latencies it saw, with this (the server's) process's peak RSS
 * and CPU per operation while it ran.
 */
export async function measureRemoteLoad(label: string, request: LoadRequest): Promise<Measurement> {
  const child = fork(fileURLToPath(new URL("./http-load-child.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const rss = sampleRss();
  const cpu = process.cpuUsage();
  const reply = await new Promise<LoadReply>((resolve, reject) => {
    child.once("message", (message: LoadReply) => resolve(message));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`load generator exited with ${code} before answering`)));
    child.send(request);
  });
  const used = process.cpuUsage(cpu);
  const peakRssMb = rss.stop();
  if (reply.type === "error") throw new Error(`load generator: ${reply.message}`);
  const total = request.operations + request.warmup;
  return latencyMeasurement(label, Float64Array.from(reply.latencies), reply.seconds, peakRssMb, {
    // CPU per call, steadier than wall time on a shared machine; the server's includes connection setup.
    server_cpu_us_per_call: Math.round((used.user + used.system) / total),
    client_cpu_us_per_call: Math.round(reply.clientCpuUs / request.operations),
    load_generator: "separate process",
  });
}
