// Prints the OpenAPI document of the REST surface: `npx tsx scripts/openapi.ts > docs/reference/openapi.json`.
// test/docs/openapi.test.ts fails when the committed file differs from what this prints.
import { openApiDocument } from "../src/http/openapi.js";
import { routes } from "../src/http/routes.js";

const LINE_WIDTH = 120; // biome.json's, so the printed file passes `biome check` as it is

process.stdout.write(`${formatJson(openApiDocument(routes))}\n`);

/**
 * `JSON.stringify(value, null, 2)`, laid out the way Biome formats JSON: objects one member per line, and arrays of
 * primitives on one line when that line fits.
 */
function formatJson(value: unknown, indent = "", lineStart = 0, suffix = ""): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((item) => typeof item !== "object" || item === null)) {
      const flat = `[${value.map((item) => JSON.stringify(item)).join(", ")}]`;
      if (lineStart + flat.length + suffix.length <= LINE_WIDTH) return flat;
    }
    const items = value.map((item, index) => {
      const comma = index < value.length - 1 ? "," : "";
      return `${inner}${formatJson(item, inner, inner.length, comma)}${comma}`;
    });
    return `[\n${items.join("\n")}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return "{}";
  const members = entries.map(([key, item], index) => {
    const comma = index < entries.length - 1 ? "," : "";
    const head = `${inner}${JSON.stringify(key)}: `;
    return `${head}${formatJson(item, inner, head.length, comma)}${comma}`;
  });
  return `{\n${members.join("\n")}\n${indent}}`;
}
