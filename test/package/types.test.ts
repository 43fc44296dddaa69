// The published type declarations resolve for ESM (.d.ts) and CJS (.d.cts) consumers, and are real types.
import { mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, ROOT, runNode } from "./helpers.js";

// Inside the package root (and git-ignored), so the consumer resolves `vargate` by self-reference.
const dir = join(ROOT, ".vargate-tmp", `types-${process.pid}`);

const consumer = (kind: "esm" | "cjs") => `
import { type AuditRecord, VargateError, VargateGovernor } from "vargate";
import { toExpressRouter } from "vargate/express";
import { toFetchHandler } from "vargate/fetch";
import { vargateFastify } from "vargate/fastify";
import { kyselyStorageFromUrl } from "vargate/kysely";
import { memoryStorage } from "vargate/memory";
import { toNodeHandler } from "vargate/node";
import * as testing from "vargate/testing";

const governor = new VargateGovernor({ storage: memoryStorage() });
const other = new VargateGovernor({ storage: kyselyStorageFromUrl(":memory:") });
const seq: AuditRecord["seq"] = 1;
const error = new VargateError("TENANT_NOT_FOUND");
const status: number = error.status;

// Real types, not \`any\`: each of these must be a type error.
// @ts-expect-error storage is required
new VargateGovernor({});
// @ts-expect-error not an error code
new VargateError("NO_SUCH_CODE");
// @ts-expect-error a governor is required
toNodeHandler();

export const ${kind} = [
  toExpressRouter(governor),
  toFetchHandler(other),
  toNodeHandler(governor, { prefix: "/api", maxBodyBytes: 1024 }),
  vargateFastify,
  testing,
  seq,
  status,
];
`;

/** The README's embed example (its first `ts` block), so the documented code compiles against the real types. */
function readmeExample(): string {
  const block = /```ts\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, "README.md"), "utf8"))?.[1];
  if (!block) throw new Error("README.md has no ```ts block");
  return `${block}\nexport {};\n`;
}

beforeAll(() => {
  assertBuilt();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "consumer.mts"), consumer("esm"));
  writeFileSync(join(dir, "consumer.cts"), consumer("cjs"));
  writeFileSync(join(dir, "readme.mts"), readmeExample());
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "nodenext",
        moduleResolution: "nodenext",
        target: "es2022",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ["node"],
        typeRoots: [join(ROOT, "node_modules/@types")],
      },
      files: ["consumer.mts", "consumer.cts", "readme.mts"],
    }),
  );
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  try {
    rmdirSync(dirname(dir)); // only when empty: other runs may be using it
  } catch {}
});

describe("type declarations", () => {
  it("type-check an ESM and a CJS consumer of every subpath, and the README example (tsc, nodenext)", () => {
    const result = runNode([join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(dir, "tsconfig.json")]);
    expect(`${result.stdout}${result.stderr}`).toBe("");
    expect(result.status).toBe(0);
  });
});
