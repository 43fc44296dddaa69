import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, expect, it } from "vitest";
import { isVargateError } from "../../src/errors.js";
import { VargateGovernor } from "../../src/governor.js";
import { createTestStorage, forEachTestDatabase, type TestStorage } from "../setup/databases.js";

const ROOT = resolve(import.meta.dirname, "../..");
const TSX = pathToFileURL(join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;
const WORKER = join(import.meta.dirname, "fixtures/append-worker.ts");

/** Runs the append worker as its own process; resolves when it exits 0, rejects with its stderr otherwise. */
function appendInProcess(url: string, tenantId: string, count: number, prefix: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", TSX, WORKER, url, tenantId, String(count), prefix], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", fail);
    child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`worker ${prefix} exited ${code}: ${stderr}`))));
  });
}

// The real thing: separate processes, each with its own driver and connections, on one database.
forEachTestDatabase(
  "separate processes on one database",
  (database) => {
    let test: TestStorage | undefined;
    afterEach(async () => {
      await test?.cleanup();
    });

    it("two processes appending 100 entries each, plus this one, leave one linear chain", async () => {
      test = await createTestStorage(database, { migrate: false });
      const governor = new VargateGovernor({ storage: test.storage });
      const url = test.url;
      const [, , creates] = await Promise.all([
        appendInProcess(url, "acme", 100, "p1"),
        appendInProcess(url, "acme", 100, "p2"),
        (async () => {
          await governor.migrate();
          // Racing creates of one tenant while the other processes append to its chain: exactly one wins.
          return Promise.allSettled(Array.from({ length: 10 }, () => governor.tenants.create({ tenant_id: "acme" })));
        })(),
      ]);
      expect(creates.filter((result) => result.status === "fulfilled")).toHaveLength(1);
      for (const result of creates) {
        if (result.status === "rejected") expect(isVargateError(result.reason, "TENANT_EXISTS")).toBe(true);
      }
      expect(await governor.audit.verify("acme")).toMatchObject({ valid: true, record_count: 201 });
      const sessions = new Map<string | null, number>();
      for await (const record of governor.audit.records("acme")) {
        sessions.set(record.session_id, (sessions.get(record.session_id) ?? 0) + 1);
      }
      expect(Object.fromEntries(sessions)).toEqual({ p1: 100, p2: 100, null: 1 });
    });
  },
  { only: ["sqlite-file", "postgres", "mysql"] },
);
