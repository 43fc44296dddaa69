import type { Clock } from "../../src/clock.js";
import { VargateGovernor, type VargateGovernorOptions } from "../../src/governor.js";
import { memoryStorage } from "../../src/storage/memory/index.js";
import type { VargateStorage } from "../../src/storage/port.js";
import { createFakePlatform, type FakePlatform, type FakeScriptStep } from "../../src/testing/fake-platform/index.js";
import { anthropicUpstream } from "../../src/upstream/anthropic.js";

/** A clock tests move by hand. */
export function manualClock(start = new Date("2026-11-28T10:00:00.000Z")): Clock & { advance(ms: number): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(ms) {
      now += ms;
    },
  };
}

export interface SessionHarness {
  fake: FakePlatform;
  storage: VargateStorage;
  governor: VargateGovernor;
  tenantId: string;
  /** Another governor on the same storage and upstream (a second instance). */
  secondGovernor(overrides?: Partial<VargateGovernorOptions>): VargateGovernor;
  close(): Promise<void>;
}

/** The fake platform, a real SDK upstream pointed at it, and a governor with one tenant. */
export async function startSessionHarness(
  options: {
    storage?: VargateStorage;
    governor?: Partial<VargateGovernorOptions>;
    tenant?: Record<string, number>;
  } = {},
): Promise<SessionHarness> {
  const fake = await createFakePlatform({ heartbeatMs: 0 });
  const storage = options.storage ?? memoryStorage();
  const governors: VargateGovernor[] = [];
  const make = (overrides: Partial<VargateGovernorOptions> = {}) => {
    const governor = new VargateGovernor({
      storage,
      upstream: anthropicUpstream({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0 }),
      sessions: { publicUrl: "http://127.0.0.1:9/gov" },
      consumers: { leaseMs: 1_000, initialBackoffMs: 5, maxBackoffMs: 50 },
      ...options.governor,
      ...overrides,
    });
    governors.push(governor);
    return governor;
  };
  const governor = make();
  await governor.migrate();
  const tenantId = `t-${Math.random().toString(16).slice(2, 10)}`;
  await governor.tenants.create({ tenant_id: tenantId, ...options.tenant });
  return {
    fake,
    storage,
    governor,
    tenantId,
    secondGovernor: make,
    async close() {
      for (const each of governors) await each.stop();
      await fake.close();
      if (!options.storage) await storage.close();
    },
  };
}

/** Polls `check` until it returns a truthy value (bounded by attempts, never by asserting time). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, attempts = 400): Promise<T> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("condition not met");
}

/** `count` scripted `bash` uses, `echo from` … `echo from+count-1`, each with its number as the result. */
export function bashToolUses(from: number, count: number): FakeScriptStep[] {
  return Array.from({ length: count }, (_, i) => ({
    type: "tool_use" as const,
    name: "bash",
    input: { command: `echo ${from + i}` },
    result: String(from + i),
  }));
}

/** A promise a test releases by hand: holds a scripted turn open without timing. */
export function gate(): { promise: Promise<void>; release: () => void } {
  let release: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}
