// Test helpers for vargate and for applications that embed it. Each helper lives in its own file.

import type { StorageConformanceOptions } from "./storage-conformance.js";

export * from "./fake-platform/index.js";
export {
  type ObservedVerdict,
  POLICY_TESTER_NOW,
  type PolicyCallContext,
  type PolicyTester,
  type PolicyTesterOptions,
  policyTester,
} from "./policy-tester.js";
export type { StorageConformanceOptions };

/**
 * Registers the storage conformance suite with vitest: every `VargateStorage` method and the atomicity its doc
 * comment promises (races included). Await it at the top level of a test file, once per implementation:
 * `await describeStorageConformance({ name: "my-storage", create })`.
 *
 * The suite and vitest load only when it is called, so `vargate/testing` (the fake platform) also loads from
 * CommonJS; the suite itself needs ESM, because vitest cannot be `require()`d.
 */
export async function describeStorageConformance(options: StorageConformanceOptions): Promise<void> {
  const { registerStorageConformance } = await import("./storage-conformance.js");
  registerStorageConformance(options);
}
