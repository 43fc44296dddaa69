// Test helpers for vargate and for applications that embed it. Each helper lives in its own file.

export * from "./fake-platform/index.js";
export { describeStorageConformance, type StorageConformanceOptions } from "./storage-conformance.js";
