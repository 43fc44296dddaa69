// Every subpath of package.json#exports resolves and loads from the built dist/, in ESM and CJS, with types.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ENTRIES } from "../../tsup.config.js";
import { assertBuilt, type Conditions, DIST, pkg, ROOT, runCjs, runEsm, runNode } from "./helpers.js";

/** Library entries (everything but the CLI), keyed by their subpath. */
const SUBPATHS = Object.fromEntries(
  Object.keys(ENTRIES)
    .filter((entry) => entry !== "cli")
    .map((entry) => [entry === "index" ? "." : `./${entry}`, entry]),
) as Record<string, string>;

const specifier = (subpath: string) => (subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`);

/** One export each subpath must have, proving the right module was loaded. */
const EXPECTED_EXPORT: Record<string, string> = {
  ".": "VargateGovernor",
  "./kysely": "kyselyStorageFromUrl",
  "./memory": "memoryStorage",
  "./express": "toExpressRouter",
  "./fastify": "vargateFastify",
  "./node": "toNodeHandler",
  "./fetch": "toFetchHandler",
};

beforeAll(assertBuilt);

describe("package.json#exports", () => {
  it("has exactly the subpaths of tsup's ENTRIES, plus ./package.json", () => {
    expect(Object.keys(pkg.exports).sort()).toEqual([...Object.keys(SUBPATHS), "./package.json"].sort());
    expect(Object.keys(SUBPATHS).sort()).toEqual(
      [".", "./kysely", "./memory", "./anthropic", "./express", "./fastify", "./node", "./fetch", "./testing"].sort(),
    );
  });

  it.each(Object.entries(SUBPATHS))("%s points at dist/%s.{js,cjs,d.ts,d.cts}", (subpath, entry) => {
    expect(pkg.exports[subpath]).toEqual({
      import: { types: `./dist/${entry}.d.ts`, default: `./dist/${entry}.js` },
      require: { types: `./dist/${entry}.d.cts`, default: `./dist/${entry}.cjs` },
    });
  });

  it("points main, module, types and bin at built files", () => {
    expect(pkg.main).toBe("./dist/index.cjs");
    expect(pkg.module).toBe("./dist/index.js");
    expect(pkg.types).toBe("./dist/index.d.cts");
    expect(pkg.bin).toEqual({ vargate: "./dist/cli.js" });
    expect(ENTRIES.cli).toBe("src/cli/main.ts");
    for (const file of [pkg.main, pkg.module, pkg.types, pkg.bin.vargate as string]) {
      expect(existsSync(join(ROOT, file)), file).toBe(true);
    }
  });

  it.each(Object.keys(SUBPATHS))("%s: every file it names exists and is not empty", (subpath) => {
    const target = pkg.exports[subpath] as { import: Conditions; require: Conditions };
    for (const file of [target.import.types, target.import.default, target.require.types, target.require.default]) {
      const path = join(ROOT, file);
      expect(existsSync(path), file).toBe(true);
      expect(statSync(path).size, file).toBeGreaterThan(0);
    }
  });
});

describe("loading every subpath by package name", () => {
  const names = Object.keys(SUBPATHS).map(specifier);
  let esm: Record<string, string[]>;
  let cjs: Record<string, { resolved: string; keys?: string[]; error?: string }>;

  beforeAll(() => {
    esm = runEsm(`
      const names = ${JSON.stringify(names)};
      const out = {};
      for (const name of names) out[name] = Object.keys(await import(name)).sort();
      console.log(JSON.stringify(out));
    `) as Record<string, string[]>;
    cjs = runCjs(`
      const names = ${JSON.stringify(names)};
      const out = {};
      for (const name of names) {
        const resolved = require.resolve(name);
        try {
          out[name] = { resolved, keys: Object.keys(require(name)).sort() };
        } catch (error) {
          out[name] = { resolved, error: String(error && error.message) };
        }
      }
      console.log(JSON.stringify(out));
    `) as typeof cjs;
  });

  it.each(Object.keys(SUBPATHS))("%s loads with import() and require() and exports the same names", (subpath) => {
    const name = specifier(subpath);
    const entry = SUBPATHS[subpath] as string;
    expect(esm[name]?.length, `${name} (ESM) exports nothing`).toBeGreaterThan(0);
    const expected = EXPECTED_EXPORT[subpath];
    if (expected) expect(esm[name]).toContain(expected);

    expect(cjs[name]?.resolved).toBe(join(DIST, `${entry}.cjs`));
    expect(cjs[name]?.error).toBeUndefined();
    expect(cjs[name]?.keys).toEqual(esm[name]);
  });

  it("resolves ./package.json", () => {
    expect(runCjs(`console.log(JSON.stringify(require("${pkg.name}/package.json").name))`)).toBe(pkg.name);
  });
});

describe("one copy of the error classes (shared chunks)", () => {
  it.each(["js", "cjs"])("dist/*.%s define VargateError exactly once", (extension) => {
    const definitions = readdirSync(DIST)
      .filter((file) => file.endsWith(`.${extension}`))
      // esbuild emits `var VargateError = class …`, and the CJS transform `var VargateError = (_class = class …`.
      .filter((file) =>
        /\bVargateError = (?:\(\w+ = )?class\b|\bclass VargateError\b/.test(readFileSync(join(DIST, file), "utf8")),
      );
    expect(definitions).toHaveLength(1);
  });

  it.each([
    ["ESM", runEsm, "const load = (name) => import(name);"],
    ["CJS", runCjs, "const load = async (name) => require(name);"],
  ] as const)(
    "%s: errors from vargate/memory and vargate/kysely are VargateErrors of vargate; vargate/express serves",
    (_, runner, load) => {
      const result = runner(`
      ${load}
      (async () => {
        const root = await load("vargate");
        const { memoryStorage } = await load("vargate/memory");
        const { kyselyStorageFromUrl } = await load("vargate/kysely");
        const { toExpressRouter } = await load("vargate/express");
        const expressModule = await load("express");
        const express = expressModule.default ?? expressModule;

        const governor = new root.VargateGovernor({ storage: memoryStorage() });
        await governor.migrate();
        await governor.tenants.create({ tenant_id: "acme" });
        const duplicate = await governor.tenants.create({ tenant_id: "acme" }).catch((e) => e);

        const sqlite = new root.VargateGovernor({ storage: kyselyStorageFromUrl(":memory:") });
        await sqlite.migrate();
        await sqlite.tenants.create({ tenant_id: "acme" });
        const viaKysely = await sqlite.tenants.create({ tenant_id: "acme" }).catch((e) => e);
        await sqlite.close();

        const app = express();
        app.use("/api", toExpressRouter(governor));
        const server = await new Promise((resolve) => { const s = app.listen(0, "127.0.0.1", () => resolve(s)); });
        const response = await fetch(\`http://127.0.0.1:\${server.address().port}/api/managed/agents\`);
        const body = await response.json();
        await new Promise((resolve) => server.close(resolve));

        console.log(JSON.stringify({
          memory: [duplicate instanceof root.VargateError, duplicate.code],
          kysely: [viaKysely instanceof root.VargateError, viaKysely.code],
          express: [response.status, body.code],
        }));
      })().catch((error) => { console.error(error); process.exit(1); });
    `);
      expect(result).toEqual({
        memory: [true, "TENANT_EXISTS"],
        kysely: [true, "TENANT_EXISTS"],
        express: [401, "UNAUTHORIZED"],
      });
    },
  );
});

describe("verification in parts from the built files", () => {
  // The SQLite verify workers run a function's source text: a build that lowers its syntax through a helper, or
  // moves what it loads, would break them (and verification would quietly walk on one thread).
  it.each([
    ["ESM", runEsm, "const load = (name) => import(name);"],
    ["CJS", runCjs, "const load = async (name) => require(name);"],
  ] as const)("%s: a long chain in a SQLite file is checked by worker threads", (_, runner, load) => {
    const result = runner(`
      ${load}
      (async () => {
        const { join } = await load("node:path");
        const { mkdtempSync, rmSync } = await load("node:fs");
        const { tmpdir } = await load("node:os");
        const root = await load("vargate");
        const { kyselyStorageFromUrl } = await load("vargate/kysely");
        const directory = mkdtempSync(join(tmpdir(), "vargate-package-verify-"));
        const storage = kyselyStorageFromUrl(join(directory, "chain.db"), { verifyThreads: 2 });
        const governor = new root.VargateGovernor({ storage });
        await governor.migrate();
        await governor.tenants.create({ tenant_id: "acme" });
        const entry = (i) => ({
          action_id: "a" + i, session_id: null, agent_id: null, event_id: null, actor: null,
          source: "control_plane", tool: "t", method: "m", decision: "allow", severity: "none",
          violations: [], input: { i }, policy_version: null, requested_at: "2026-01-01T00:00:00.000Z",
        });
        for (let start = 0; start < 60000; start += 10000) {
          await storage.audit.append("acme", Array.from({ length: 10000 }, (_, i) => entry(start + i)));
        }
        const head = await storage.audit.head("acme");
        const parts = await storage.audit.checkChainParts("acme", head.seq);
        const verification = await governor.audit.verify("acme");
        await governor.close();
        rmSync(directory, { recursive: true, force: true });
        console.log(JSON.stringify({ parts: parts && parts.map((part) => part.clean), verification }));
      })().catch((error) => { console.error(error); process.exit(1); });
    `);
    expect(result).toMatchObject({ parts: [true, true], verification: { valid: true, record_count: 60_001 } });
  });
});

describe("the vargate bin", () => {
  it("is an executable ESM file with a node shebang", () => {
    const bin = join(ROOT, pkg.bin.vargate as string);
    expect(readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(statSync(bin).mode & 0o111).not.toBe(0);
  });

  it.each([[["--help"]], [["serve", "--help"]], [["tenants", "create", "--help"]], [["audit", "verify", "--help"]]])(
    "runs %j",
    (args) => {
      const result = runNode([join(ROOT, pkg.bin.vargate as string), ...args]);
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      expect(result.stdout).toContain("Usage: vargate");
    },
  );

  it("prints the package version", () => {
    const result = runNode([join(ROOT, pkg.bin.vargate as string), "--version"]);
    expect(result.stdout.trim()).toBe(pkg.version);
  });
});
