// docs/reference/openapi.json is generated (`npx tsx scripts/openapi.ts > docs/reference/openapi.json`) and must
// never go stale: a route or schema changed without regenerating it fails here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/http/openapi.js";
import { routes } from "../../src/http/routes.js";

const ROOT = join(import.meta.dirname, "../..");

describe("docs/reference/openapi.json", () => {
  it("is the document the routes table generates", () => {
    const committed: unknown = JSON.parse(readFileSync(join(ROOT, "docs/reference/openapi.json"), "utf8"));
    expect(committed).toEqual(JSON.parse(JSON.stringify(openApiDocument(routes))));
  });
});
