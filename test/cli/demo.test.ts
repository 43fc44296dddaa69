import { describe, expect, it } from "vitest";
import { run } from "../../src/cli/run.js";
import { captureIo } from "./helpers.js";

describe("vargate demo", () => {
  it("plays one governed session end to end and shows every step", { timeout: 60_000 }, async () => {
    const io = captureIo({});
    const code = await run(["demo"], io);
    expect(io.err()).toBe("");
    expect(code).toBe(0);
    const out = io.out();
    expect(out).not.toContain("\u001b[");
    expect(out).toMatch(/crm_lookup allowed: the CRM received "Authorization: Bearer/);
    expect(out).toContain("the agent's result does not contain the credential");
    expect(out).toMatch(/create_transfer \{amount: 5000\} denied: Transfers over 1000 are denied/);
    expect(out).toMatch(/send_email is pending approval/);
    expect(out).toMatch(/approved via POST \/managed\/approvals\/[^/]+\/approve: the email ran exactly once/);
    expect(out).toContain('observed read {"file_path":"README.md"}');
    expect(out).toContain('observed bash {"command":"ls"}');
    expect(out).toMatch(/observed bash "rm -rf \/": critical anomaly, session interrupted/);
    expect(out).toMatch(/mcp_governed\s+create_transfer\s+deny\s+high/);
    expect(out).toMatch(/control_plane\s+interrupt_session/);
    expect(out).toMatch(/governed calls:\s+3/);
    expect(out).toMatch(/observed calls:\s+3/);
    expect(out).toMatch(/approvals used:\s+1/);
    expect(out).toMatch(/denial rate:\s+\d+\.\d{2}%/);
    expect(out).toMatch(/chain valid: \d+ records/);
    expect(out).toMatch(/offline verification valid: \d+ records/);
    expect(out).toMatch(/changed crm_lookup: allow → deny/);
    expect(out).toContain("Demo complete");
  });

  it("refuses --real with the requirements spelled out", async () => {
    const io = captureIo({});
    expect(await run(["demo", "--real"], io)).toBe(1);
    expect(io.err()).toContain("VARGATE_PUBLIC_URL");
  });
});
