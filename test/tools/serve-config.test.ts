// `vargate serve --config tools.json` (and VARGATE_TOOLS_CONFIG), in-process.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { EXIT_OK, EXIT_USAGE, run } from "../../src/cli/run.js";
import { captureIo } from "../cli/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vargate-serve-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function file(name: string, content: unknown): string {
  counter += 1;
  const path = join(dir, `${counter}-${name}`);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const tool = {
  name: "crm_lookup",
  description: "Look a contact up in the CRM",
  input_schema: { type: "object", properties: { email: { type: "string" } }, required: ["email"] },
  credentials: ["crm"],
  request: {
    method: "GET",
    url: "https://crm.example.com/v1/contacts?email={{input.email}}",
    headers: { authorization: "Bearer {{credentials.crm}}" },
  },
};

describe("vargate serve --config", () => {
  const controllers: AbortController[] = [];
  afterEach(() => {
    for (const controller of controllers.splice(0)) controller.abort();
  });

  it("refuses a bad config before listening, naming the file and the path", async () => {
    const config = file("tools.json", { tools: [{ ...tool, request: { ...tool.request, url: "{{input.email}}" } }] });
    const io = captureIo();
    const code = await run(["serve", "--port", "0", "--database", join(dir, "a.db"), "--config", config], io);
    expect(code).toBe(EXIT_USAGE);
    expect(io.out()).toBe("");
    expect(io.err()).toContain(`vargate: Invalid tools config ${config}:`);
    expect(io.err()).toContain("tools[0].request.url:");
  });

  it("reads VARGATE_TOOLS_CONFIG, and names a file it cannot read", async () => {
    const missing = join(dir, "missing.json");
    const io = captureIo({ VARGATE_TOOLS_CONFIG: missing });
    expect(await run(["serve", "--port", "0", "--database", join(dir, "b.db")], io)).toBe(EXIT_USAGE);
    expect(io.err()).toBe(`vargate: Cannot read tools config ${missing} (ENOENT)\n`);
  });

  it("refuses a file that is not JSON", async () => {
    const io = captureIo();
    const config = file("broken.json", "{ tools: [");
    expect(await run(["serve", "--port", "0", "--database", join(dir, "c.db"), "--config", config], io)).toBe(
      EXIT_USAGE,
    );
    expect(io.err()).toContain("(root): not valid JSON");
  });

  it("refuses a credential key that is not 32 bytes before listening", async () => {
    const io = captureIo({ VARGATE_CREDENTIAL_KEY: "too-short" });
    const config = file("tools.json", { tools: [tool] });
    expect(await run(["serve", "--port", "0", "--database", join(dir, "e.db"), "--config", config], io)).toBe(
      EXIT_USAGE,
    );
    expect(io.out()).toBe("");
    expect(io.err()).toBe("vargate: credentials: the key must be exactly 32 bytes (AES-256)\n");
  });

  it("registers the config's tools and serves, warning when credentials have no key", async () => {
    const controller = new AbortController();
    controllers.push(controller);
    const io = captureIo({}, controller.signal);
    const config = file("tools.json", { tools: [tool] });
    const exit = run(["serve", "--port", "0", "--database", join(dir, "d.db"), "--config", config], io);
    const first = await Promise.race([io.waitForStdout(/^vargate listening on /), exit]);
    if (typeof first === "number") throw new Error(`serve exited with ${first}: ${io.err()}`);
    expect(io.logs).toContainEqual({
      level: "info",
      message: "Tools loaded",
      data: { config, tools: "crm_lookup" },
    });
    expect(io.logs).toContainEqual({
      level: "warn",
      message: "Tools need credentials but VARGATE_CREDENTIAL_KEY is not set; their calls will fail",
    });
    controller.abort();
    expect(await exit).toBe(EXIT_OK);
  });
});
