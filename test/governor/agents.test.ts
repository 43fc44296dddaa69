import { describe, expect, it } from "vitest";
import { isVargateError, VargateGovernor } from "../../src/index.js";
import { memoryStorage } from "../../src/storage/memory/index.js";

async function setup() {
  const governor = new VargateGovernor({ storage: memoryStorage() });
  await governor.migrate();
  const { api_key } = await governor.tenants.create({ tenant_id: "acme" });
  return { governor, apiKey: api_key };
}

describe("agent configs", () => {
  it("creates with seed defaults and tenant limits", async () => {
    const { governor } = await setup();
    const config = await governor.agents.create("acme", { name: "Research Assistant" });
    expect(config.id).toMatch(/^agent-[0-9a-f]{12}$/);
    expect(config).toMatchObject({
      tenant_id: "acme",
      anthropic_model: "claude-sonnet-4-6",
      max_delegation_depth: 1,
      max_session_hours: 8,
      max_daily_sessions: 50,
      version: 1,
    });
  });

  it("refuses a child deeper than an ancestor allows", async () => {
    const { governor } = await setup();
    const root = await governor.agents.create("acme", { name: "root", max_delegation_depth: 1 });
    const child = await governor.agents.create("acme", { name: "child", parent_agent_id: root.id });
    const error = await governor.agents
      .create("acme", { name: "grandchild", parent_agent_id: child.id })
      .catch((e: unknown) => e);
    expect(isVargateError(error, "DELEGATION_DEPTH_EXCEEDED")).toBe(true);
  });

  it("audits every change in a chain that verifies", async () => {
    const { governor } = await setup();
    const config = await governor.agents.create("acme", { name: "a" });
    await governor.agents.update("acme", config.id, { name: "b" });
    const verification = await governor.audit.verify("acme");
    expect(verification).toMatchObject({ valid: true, record_count: 3 });
  });
});
