// docs/errors.md and VARGATE_ERROR_CODES must list the same codes with the same status and default message.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VARGATE_ERROR_CODES } from "../../src/errors.js";

const ROOT = join(import.meta.dirname, "../..");

/** Rows of the "## Codes" table: `| \`CODE\` | status | message | when |`. */
function documentedCodes(): Record<string, { status: number; message: string }> {
  const markdown = readFileSync(join(ROOT, "docs/errors.md"), "utf8");
  const section = markdown.split(/^## Codes$/m)[1]?.split(/^## /m)[0] ?? "";
  const rows: Record<string, { status: number; message: string }> = {};
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((cell) => cell.trim());
    const code = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[1] ?? "")?.[1];
    if (!code) continue;
    if (rows[code]) throw new Error(`docs/errors.md lists ${code} twice`);
    rows[code] = { status: Number(cells[2]), message: cells[3] ?? "" };
  }
  return rows;
}

describe("docs/errors.md", () => {
  it("documents every code of VARGATE_ERROR_CODES, and no other", () => {
    expect(Object.keys(documentedCodes()).sort()).toEqual(Object.keys(VARGATE_ERROR_CODES).sort());
  });

  it("gives each code the status and default message of VARGATE_ERROR_CODES", () => {
    const expected = Object.fromEntries(
      Object.entries(VARGATE_ERROR_CODES).map(([code, { status, message }]) => [code, { status, message }]),
    );
    expect(documentedCodes()).toEqual(expected);
  });
});
