// How fast the machine is right now. The machines are shared VMs whose speed changes by a factor of up to three
// from one hour to the next (the hypervisor does not always report it as steal time), so each scenario records
// the rate of one fixed single-threaded workload measured just before it: figures from runs with different
// reference rates are not comparable, ratios to a same-run baseline are.
import { hash } from "node:crypto";

const DOCUMENT = {
  tool: "create_transfer",
  input: { amount: 1250, currency: "EUR", to: "ops@example.com", memo: "Invoice 2026-04 for services" },
  counters: { session: { create_transfer: 3 }, agent_24h: { create_transfer: 12 } },
  now: "2026-04-11T14:30:00.000Z",
};
const TEXT = JSON.stringify(DOCUMENT);
const DURATION_MS = 200;

/** Rounds per second of parse + stringify + SHA-256 of a 250-byte JSON document, over about 200 ms. */
export function referenceRate(): number {
  let rounds = 0;
  let check = "";
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < DURATION_MS) {
    for (let i = 0; i < 1000; i++) check = hash("sha256", JSON.stringify(JSON.parse(TEXT)), "hex");
    rounds += 1000;
    elapsed = performance.now() - started;
  }
  if (check.length !== 64) throw new Error("reference workload failed");
  return Math.round((rounds / elapsed) * 1000);
}
