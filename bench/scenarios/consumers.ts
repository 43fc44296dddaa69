// consumers: many governed sessions consumed at once from the fake platform (in its own process); heap per
// consumer with every stream open and idle.
import { join } from "node:path";
import { sampleRss } from "../lib/measure.js";
import type { Measurement, Scenario } from "../lib/scenario.js";
import { governorOverFake, startRemoteFakePlatform, until } from "./support/remote-fake-platform.js";

/** Events of one scripted turn: user.message, status_running, span start, agent.message, span end, status_idle. */
const EVENTS_PER_TURN = 6;
const HEAP_TARGET_BYTES = 64 * 1024;

export const consumers: Scenario = {
  name: "consumers",
  description: "Governed sessions consumed at once from the fake platform; heap per idle consumer",
  async run(context) {
    const sessions = context.quick ? 150 : 1_000;
    const gc = (globalThis as { gc?: () => void }).gc;
    const fake = await startRemoteFakePlatform();
    const { governor, storage } = governorOverFake(fake, join(context.tmpDir, "consumers.db"));
    let measured: Measurement;
    try {
      await governor.migrate();
      const tenantId = "bench";
      await governor.tenants.create({
        tenant_id: tenantId,
        max_concurrent_sessions: sessions + 10,
        max_daily_sessions: sessions + 10,
      });
      // An agent config allows at most 1,000 sessions a day, so the sessions alternate between two configs.
      const configs = [
        await governor.agents.create(tenantId, { name: "bench-a", max_daily_sessions: 1_000 }),
        await governor.agents.create(tenantId, { name: "bench-b", max_daily_sessions: 1_000 }),
      ];
      await fake.script(0, false);
      const connected = async () => {
        const views = await storage.consumers.list(tenantId);
        return views.filter((view) => view.status === "connected" && view.events_processed >= EVENTS_PER_TURN).length;
      };
      let created = 0;
      const create = () => {
        const config = configs[created++ % configs.length] as (typeof configs)[number];
        return governor.sessions.create(tenantId, { agent_id: config.id, user_message: "go" });
      };

      // Warm-up: one session end to end, so code loading, JIT and connection setup are not counted per consumer.
      await create();
      await waitFor(async () => (await connected()) === 1);
      const heapBefore = settledHeap(gc);
      const rssBefore = process.memoryUsage.rss();
      context.log(`consumers: opening ${sessions} sessions`);

      const rss = sampleRss();
      const started = process.hrtime.bigint();
      let next = 0;
      // Sessions are started 16 at a time, as a busy application would; each gets its consumer on activation.
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < sessions) {
            next += 1;
            await create();
          }
        }),
      );
      const createdSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      await waitFor(async () => (await connected()) === sessions + 1);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const peakRssMb = rss.stop();
      const platform = await fake.stats();
      if (platform.openStreams !== sessions + 1) {
        throw new Error(`expected ${sessions + 1} open streams, the platform has ${platform.openStreams}`);
      }
      // Idle: every stream open, every event handled; let lease renewals and sockets settle, then weigh the heap.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const heapAfter = settledHeap(gc);
      const perConsumer = (heapAfter - heapBefore) / sessions;
      measured = {
        label: `vargate consumers: ${sessions} sessions consumed at once (SQLite file WAL)`,
        operations: sessions,
        seconds,
        throughput: sessions / seconds,
        peakRssMb,
        extra: {
          heap_per_consumer_kb: Math.round((perConsumer / 1024) * 10) / 10,
          heap_delta_mb: Math.round(((heapAfter - heapBefore) / 1024 / 1024) * 10) / 10,
          rss_per_consumer_kb: Math.round((process.memoryUsage.rss() - rssBefore) / sessions / 1024),
          create_seconds: Math.round(createdSeconds * 100) / 100,
          open_streams: platform.openStreams - 1,
          gc: gc ? "forced" : "unavailable (run with --expose-gc)",
          storage: "SQLite file (WAL)",
        },
      };
      context.log(`consumers: ${(perConsumer / 1024).toFixed(1)} KB heap per consumer`);
    } finally {
      await governor.stop();
      await storage.close();
      await fake.close();
    }
    const perConsumerKb = Number(measured.extra?.heap_per_consumer_kb);
    return {
      measured,
      target: "< 64 KB of heap per consumer",
      targetMet: gc !== undefined && perConsumerKb * 1024 < HEAP_TARGET_BYTES,
      notes:
        `${sessions} governed sessions created through governor.sessions.create (16 at a time) against the fake ` +
        "platform in a child process; each gets a stream consumer. Heap per consumer = (heapUsed after gc with " +
        "every stream open and idle − heapUsed after gc before) / sessions. Throughput is sessions opened per " +
        "second, creation included.",
    };
  },
};

function settledHeap(gc: (() => void) | undefined): number {
  for (let i = 0; i < 4; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

const waitFor = (check: () => Promise<boolean>) => until("consumers", check, { attempts: 6_000 });
