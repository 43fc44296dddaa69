// Tools that declare no credentials run without a credential key; tools that do fail closed without one.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { VargateGovernor } from "../../src/governor.js";
import { memoryStorage } from "../../src/storage/memory/index.js";
import { sessionRecord } from "../../src/testing/storage-conformance/fixtures.js";
import { defineTool } from "../../src/tools/define.js";

describe("governed calls without VARGATE_CREDENTIAL_KEY", () => {
  const saved = process.env.VARGATE_CREDENTIAL_KEY;
  beforeEach(() => {
    delete process.env.VARGATE_CREDENTIAL_KEY;
  });
  afterEach(() => {
    if (saved !== undefined) process.env.VARGATE_CREDENTIAL_KEY = saved;
  });

  async function governorWithTools() {
    let ranWithSecret = false;
    const governor = new VargateGovernor({
      storage: memoryStorage(),
      tools: [
        defineTool({
          name: "echo",
          description: "Echo the input",
          inputSchema: z.object({ text: z.string() }),
          execute: async ({ text }) => ({ text }),
        }),
        defineTool({
          name: "crm_lookup",
          description: "Needs the crm credential",
          inputSchema: z.object({}),
          credentials: ["crm"],
          execute: async () => {
            ranWithSecret = true;
            return {};
          },
        }),
      ],
    });
    await governor.migrate();
    await governor.tenants.create({ tenant_id: "acme" });
    const agent = await governor.agents.create("acme", { name: "a", allowed_tools: ["echo", "crm_lookup"] });
    const session = sessionRecord("acme", { agent_id: agent.id, status: "active" });
    return { governor, session, ranWithSecret: () => ranWithSecret };
  }

  it("runs a tool that declares no credentials", async () => {
    const { governor, session } = await governorWithTools();
    const outcome = await governor.governedCalls.call({ session, tool: "echo", input: { text: "hi" } });
    expect(outcome).toMatchObject({ kind: "allowed", output: { text: "hi" } });
  });

  it("fails a tool that needs a credential closed, without running it", async () => {
    const { governor, session, ranWithSecret } = await governorWithTools();
    const outcome = await governor.governedCalls.call({ session, tool: "crm_lookup", input: {} });
    expect(outcome).toMatchObject({
      kind: "failed",
      error: 'Credential "crm" could not be read from the credential store',
    });
    expect(ranWithSecret()).toBe(false);
    const [record] = (await governor.audit.listBySession("acme", session.id)).filter((r) => r.tool === "crm_lookup");
    expect(record?.result).toEqual({
      ok: false,
      error: 'Credential "crm" could not be read from the credential store',
    });
  });
});
