// The session routes through every adapter, against the fake platform with the real SDK.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type SessionHarness, startSessionHarness } from "../sessions/harness.js";
import {
  type StartServer,
  startExpressServer,
  startFastifyServer,
  startFetchServer,
  startNodeServer,
  type TestServer,
} from "./servers.js";

const adapters: [string, StartServer][] = [
  ["express", startExpressServer],
  ["fastify", startFastifyServer],
  ["node", startNodeServer],
  ["fetch", startFetchServer],
];

describe.each(adapters)("session routes through %s", (_name, start) => {
  let harness: SessionHarness;
  let server: TestServer;
  let apiKey: string;
  let agentId: string;

  beforeAll(async () => {
    harness = await startSessionHarness();
    server = await start(harness.governor, { prefix: "/api" });
    ({ api_key: apiKey } = await harness.governor.tenants.createApiKey(harness.tenantId));
    agentId = (await harness.governor.agents.create(harness.tenantId, { name: "a" })).id;
    harness.fake.setDefaultScript([{ type: "tool_use", name: "bash", input: { command: "ls" }, result: "ok" }]);
  });
  afterAll(async () => {
    await server?.close();
    await harness?.close();
  });

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { "x-api-key": apiKey, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  it("creates, lists, reads, audits, interrupts and lists consumers", async () => {
    const createdResponse = await call("POST", "/managed/sessions", { agent_id: agentId, user_message: "go" });
    expect(createdResponse.status).toBe(200);
    const created = (await createdResponse.json()) as { session_id: string; status: string };
    expect(created.status).toBe("active");

    const list = (await (await call("GET", `/managed/sessions?status=active&agent_id=${agentId}`)).json()) as {
      sessions: { id: string; total_observed_calls: number }[];
      count: number;
    };
    expect(list.count).toBeGreaterThanOrEqual(1);
    expect(list.sessions.map((s) => s.id)).toContain(created.session_id);

    await eventually(async () => {
      const status = (await (await call("GET", `/managed/sessions/${created.session_id}/status`)).json()) as {
        total_observed_calls: number;
      };
      return status.total_observed_calls === 1;
    });
    const audit = (await (await call("GET", `/managed/sessions/${created.session_id}/audit?limit=1`)).json()) as {
      session_id: string;
      records: { source: string }[];
      count: number;
    };
    expect(audit).toMatchObject({ session_id: created.session_id, count: 1 });

    const consumers = (await (await call("GET", "/managed/consumers")).json()) as {
      consumers: { session_id: string }[];
      count: number;
    };
    expect(consumers.consumers.map((c) => c.session_id)).toContain(created.session_id);

    const interrupted = await call("POST", `/managed/sessions/${created.session_id}/interrupt`, { reason: "stop" });
    expect(interrupted.status).toBe(200);
    expect(await interrupted.json()).toMatchObject({ status: "interrupted", auto_triggered: false });
    const again = await call("POST", `/managed/sessions/${created.session_id}/interrupt`, { reason: "stop" });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: "SESSION_ENDED" });
  });

  it("answers bad input with 422s naming the field, and unknown sessions with 404", async () => {
    const cases: [string, string, unknown, unknown[]][] = [
      ["POST", "/managed/sessions", {}, ["body", "agent_id"]],
      ["POST", "/managed/sessions", { agent_id: agentId, metadata: { k: 1 } }, ["body", "metadata", "k"]],
      ["GET", "/managed/sessions?status=paused", undefined, ["query", "status"]],
      ["GET", "/managed/sessions/vs-0000000000000000/audit?limit=0", undefined, ["query", "limit"]],
    ];
    for (const [method, path, body, loc] of cases) {
      const response = await call(method, path, body);
      expect(response.status, `${method} ${path}`).toBe(422);
      const json = (await response.json()) as { code: string; detail: { loc: unknown[] }[] };
      expect(json.code).toBe("VALIDATION_FAILED");
      expect(json.detail[0]?.loc).toEqual(loc);
    }
    const created = (await (await call("POST", "/managed/sessions", { agent_id: agentId })).json()) as {
      session_id: string;
    };
    const badReason = await call("POST", `/managed/sessions/${created.session_id}/interrupt`, { reason: "" });
    expect(badReason.status).toBe(422);
    expect(((await badReason.json()) as { detail: { loc: unknown[] }[] }).detail[0]?.loc).toEqual(["body", "reason"]);

    const unknownAgent = await call("POST", "/managed/sessions", { agent_id: "agent-000000000000" });
    expect(unknownAgent.status).toBe(404);
    expect(await unknownAgent.json()).toMatchObject({ code: "AGENT_NOT_FOUND" });
    for (const path of ["/managed/sessions/vs-0000000000000000", "/managed/sessions/vs-0000000000000000/audit"]) {
      expect((await call("GET", path)).status).toBe(404);
    }
    expect((await call("POST", `/managed/sessions/${created.session_id}/complete`)).status).toBe(200);
  });
});
