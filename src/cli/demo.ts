// `vargate demo`: one governed session played end to end over real HTTP and MCP, on the fake platform or the real API.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as z from "zod";
import { toNodeHandler } from "../adapters/node.js";
import type { AuditRecord } from "../audit/types.js";
import { verifyComplianceExport } from "../compliance/index.js";
import { encryptedCredentialStore } from "../credentials/encrypted-store.js";
import { VargateGovernor } from "../governor.js";
import { silentLogger } from "../logger.js";
import type { VargateStorage } from "../storage/port.js";
import { defineTool } from "../tools/define.js";
import { DEMO_TURNS, type DemoPlatformOptions, demoPlatform, sayAndWait } from "./demo-platform.js";
import { CliError, type CliIo, EXIT_OK } from "./io.js";

export interface DemoOptions extends DemoPlatformOptions {
  /** ANSI colour; run.ts turns it on only when stdout is a terminal. */
  colour?: boolean;
}

/** The tenant policy's one rule; the replay's candidate policy keeps it and adds another. */
const LARGE_TRANSFERS_RULE = {
  id: "large-transfers",
  when: { tool: "create_transfer", input: [{ field: "amount", op: "gt", value: 1000 }] },
  effect: "deny",
  severity: "high",
  message: "Transfers over 1000 are denied",
} as const;

const CRM_SECRET = `crm-demo-${randomBytes(8).toString("hex")}`;

type Tone = "bold" | "dim" | "green" | "red" | "yellow" | "cyan";
const ANSI: Record<Tone, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  green: [32, 39],
  red: [31, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};

interface TargetRequest {
  url: string;
  authorization: string | undefined;
  body: string;
}

/** `vargate demo`: exits 0 once every step has been shown; throws a CliError if a step does not behave. */
export async function demo(options: DemoOptions, io: CliIo): Promise<number> {
  const colour = options.colour === true;
  const paint = (tone: Tone, text: string) =>
    colour ? `\u001b[${ANSI[tone][0]}m${text}\u001b[${ANSI[tone][1]}m` : text;
  const line = (text = "") => io.stdout(`${text}\n`);
  const heading = (text: string) => line(`\n${paint("bold", text)}`);
  const step = (text: string) => line(`${paint("cyan", "»")} ${text}`);
  const ok = (text: string) => line(`  ${paint("green", "✓")} ${text}`);
  /** Our own guarantees: a miss is a failed demo on either platform. */
  const expect = (condition: unknown, message: string): void => {
    if (!condition) throw new CliError(`demo step failed: ${message}`);
  };

  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "vargate-demo-"));
  const cleanup: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  try {
    heading("vargate demo: one governed session, end to end");
    const platform = await demoPlatform(options, io.env, (text) => line(paint("dim", text)));
    cleanup.unshift(() => platform.close());
    const real = platform.kind === "real";
    /** What the agent chose to do: the scripted fake always does it; a real model may not, which is only a warning. */
    const agentDid = (condition: unknown, message: string): boolean => {
      if (condition) return true;
      if (!real) throw new CliError(`demo step failed: ${message}`);
      line(`  ${paint("yellow", "!")} ${message} (the model decides; the governance around it still held)`);
      return false;
    };
    const turnTimeoutMs = real ? 180_000 : 20_000;
    // Loaded on demand: the SQLite driver is an optional peer.
    const { kyselyStorageFromUrl } = await import("../storage/kysely/index.js");

    const databasePath = join(dir, "vargate.db");
    step(`fresh SQLite database ${paint("dim", databasePath)}`);
    const storage: VargateStorage = kyselyStorageFromUrl(databasePath);
    cleanup.unshift(() => storage.close());

    const target = await startTarget();
    cleanup.unshift(() => closeServer(target.server));

    let handler: ReturnType<typeof toNodeHandler> | undefined;
    const server = createServer((req, res) => void handler?.(req, res));
    server.listen(platform.port, "127.0.0.1");
    await once(server, "listening");
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const publicUrl = platform.publicUrl ?? url;
    cleanup.unshift(() => closeServer(server));

    const governor = new VargateGovernor({
      storage,
      logger: io.logger ?? silentLogger,
      upstream: platform.upstream,
      tools: demoTools(target.url),
      credentialStore: encryptedCredentialStore({ records: storage.credentials, key: randomBytes(32) }),
      // A short wait: the agent hears "pending approval" at once, and the demo approves over HTTP.
      governedCalls: { approvalWaitMs: real ? 2_000 : 100, approvalPollMs: 10 },
      consumers: { leaseMs: 1_000, initialBackoffMs: 5, maxBackoffMs: 50 },
      sessions: { publicUrl, ...(io.env.VARGATE_ENVIRONMENT_ID && { environmentId: io.env.VARGATE_ENVIRONMENT_ID }) },
    });
    handler = toNodeHandler(governor);
    await governor.migrate();
    governor.start();
    cleanup.unshift(() => governor.stop());
    step(`governor listening on ${url}${real ? ` (public URL ${publicUrl})` : ""}, upstream: ${platform.description}`);

    const tenantId = "acme";
    const { api_key: apiKey } = await governor.tenants.create({ tenant_id: tenantId });
    await governor.credentials.put(tenantId, "crm", CRM_SECRET);
    step(`tenant ${tenantId} with an API key and a brokered credential "crm" (encrypted at rest)`);

    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new CliError(`${method} ${path} answered ${response.status}: ${text}`);
      return JSON.parse(text) as T;
    };

    const policy = await api<{ version: number }>("PUT", "/managed/policy", { rules: [LARGE_TRANSFERS_RULE] });
    step(`tenant policy v${policy.version}: deny create_transfer with amount > 1000`);
    const agent = await api<{ id: string }>("POST", "/managed/agents", {
      name: "support-agent",
      allowed_tools: ["crm_lookup", "create_transfer", "send_email"],
      require_human_approval: ["send_email"],
    });
    step(`agent config ${agent.id}: allows crm_lookup, create_transfer, send_email; send_email needs approval`);

    const created = await api<{ session_id: string; anthropic_session_id: string }>("POST", "/managed/sessions", {
      agent_id: agent.id,
    });
    const sessionId = created.session_id;
    const upstreamId = created.anthropic_session_id;
    step(`session ${sessionId} created over HTTP (upstream ${upstreamId}); the agent reaches tools over MCP`);

    const turn = (name: keyof typeof DEMO_TURNS) => {
      line(paint("dim", `  user: ${DEMO_TURNS[name].say}`));
      return sayAndWait(platform.upstream, upstreamId, DEMO_TURNS[name].say, turnTimeoutMs);
    };

    heading("1. An allowed governed call with a brokered credential");
    const lookup = await turn("lookup");
    const crmRequest = target.requests.find((r) => r.url === "/crm");
    if (agentDid(crmRequest, "the agent did not call crm_lookup")) {
      expect(
        lookup.some((result) => !result.isError),
        "crm_lookup was not allowed",
      );
      expect(crmRequest?.authorization === `Bearer ${CRM_SECRET}`, "the CRM did not receive the brokered credential");
      ok(`crm_lookup allowed: the CRM received "Authorization: Bearer ${mask(CRM_SECRET)}"`);
    }
    expect(!lookup.some((result) => result.text.includes(CRM_SECRET)), "the agent saw the credential");
    ok("the agent's result does not contain the credential");

    heading("2. A denied call");
    const transfer = await turn("transfer");
    const largeTransfers = target.requests.filter((r) => r.url === "/transfers" && Number(parseBody(r).amount) > 1000);
    expect(largeTransfers.length === 0, "a transfer over 1000 reached the target");
    const denied = transfer.find((result) => result.isError);
    if (agentDid(denied, "the agent did not call create_transfer")) {
      ok(`create_transfer {amount: 5000} denied: ${violationsOf(denied?.text ?? "")}`);
    }

    heading("3. A call that waits for approval, approved over HTTP");
    const email = await turn("email");
    const pending = await poll(async () => {
      const { approvals } = await api<{ approvals: { action_id: string; tool: string }[] }>(
        "GET",
        "/managed/approvals?status=pending",
      );
      return approvals.find((a) => a.tool === "send_email");
    }, 2_000);
    if (agentDid(pending, "the agent did not call send_email")) {
      expect(real || email.some((r) => r.text.includes("pending_approval")), "send_email did not wait for approval");
      expect(!target.requests.some((r) => r.url === "/email"), "the email was sent before approval");
      ok(`send_email is pending approval (action ${pending?.action_id}); nothing sent yet`);
      await api("POST", `/managed/approvals/${pending?.action_id}/approve`, { note: "Looks right" });
      expect(target.requests.filter((r) => r.url === "/email").length === 1, "the approved email did not run once");
      ok(`approved via POST /managed/approvals/${pending?.action_id}/approve: the email ran exactly once`);
    }

    heading("4. Observed built-in tool uses");
    await turn("builtins");
    const observedSoFar = await poll(async () => {
      const trail = await governor.sessions.audit(tenantId, sessionId);
      const observed = trail.filter((r) => r.source === "mcp_observed");
      return observed.length >= 2 && observed;
    }, 10_000);
    if (agentDid(observedSoFar, "the agent did not use read and bash")) {
      for (const record of observedSoFar ?? [])
        ok(`observed ${record.tool} ${describeInput(record)}: ${record.decision}`);
    }

    heading("5. An anomaly that triggers auto-interrupt");
    line(paint("dim", `  user: ${DEMO_TURNS.anomaly.say}`));
    await platform.upstream.sendEvents(upstreamId, [
      { type: "user.message", content: [{ type: "text", text: DEMO_TURNS.anomaly.say }] },
    ]);
    const interrupted = await poll(async () => {
      const current = await api<{ status: string; end_reason: string | null }>("GET", `/managed/sessions/${sessionId}`);
      return current.status === "interrupted" && current;
    }, turnTimeoutMs);
    if (agentDid(interrupted, "the agent did not run the command; completing the session instead")) {
      const anomaly = (await governor.sessions.audit(tenantId, sessionId)).find(
        (r) => r.source === "mcp_observed" && r.severity === "critical",
      );
      ok(
        `observed ${anomaly?.tool} ${describeInput(anomaly)}: critical anomaly, session interrupted (${interrupted?.end_reason})`,
      );
    } else {
      await api("POST", `/managed/sessions/${sessionId}/complete`);
    }

    heading("Audit trail");
    const trail = await api<{ records: AuditRecord[] }>("GET", `/managed/sessions/${sessionId}/audit`);
    line(
      paint(
        "dim",
        `  ${"seq".padEnd(5)}${"source".padEnd(15)}${"tool / method".padEnd(26)}${"decision".padEnd(18)}severity`,
      ),
    );
    for (const record of [...trail.records].sort((a, b) => a.seq - b.seq)) {
      const decision = record.decision.padEnd(18);
      const tone: Tone = record.decision === "deny" ? "red" : record.decision === "allow" ? "green" : "yellow";
      const severity = record.severity === "none" ? record.severity : paint("red", record.severity);
      line(
        `  ${String(record.seq).padEnd(5)}${record.source.padEnd(15)}${(record.source === "control_plane" ? record.method : record.tool).padEnd(26)}${paint(tone, decision)}${severity}`,
      );
    }

    heading("Session status counts");
    const status = await governor.sessions.get(tenantId, sessionId);
    line(`  status:          ${status.status}`);
    line(`  governed calls:  ${status.total_governed_calls}`);
    line(`  observed calls:  ${status.total_observed_calls}`);
    line(`  denied:          ${status.total_denied}`);
    line(`  pending:         ${status.total_pending}`);
    line(`  approvals used:  ${status.approvals_used}`);
    line(`  anomalies:       ${status.anomalies_detected}`);

    heading("Compliance export");
    const exported = await governor.compliance.export(tenantId, sessionId);
    const { summary } = exported;
    line(
      `  events:       ${summary.total_events} (${summary.governed_calls} governed, ${summary.observed_calls} observed)`,
    );
    line(`  denied:       ${summary.denied}`);
    line(`  denial rate:  ${summary.denial_rate}`);
    line(`  anomalies:    ${summary.anomalies_detected}`);
    line(`  approvals:    ${summary.approvals_used}`);
    line(
      `  AGCS controls: ${Object.keys(exported.agcs_controls).length}, policy versions: ${exported.policy_versions.length}`,
    );

    heading("Chain verification");
    const chain = await governor.audit.verify(tenantId);
    expect(chain.valid, `the audit chain is broken: ${chain.reason}`);
    ok(`chain valid: ${chain.record_count} records, head ${chain.head_hash.slice(0, 16)}…`);
    const exportPath = join(dir, `compliance-${sessionId}.json`);
    writeFileSync(exportPath, JSON.stringify(exported, null, 2));
    const offline = verifyComplianceExport(readFileSync(exportPath, "utf8"));
    expect(offline.valid, `offline verification failed: ${JSON.stringify(offline.failures)}`);
    ok(`offline verification valid: ${offline.records} records, ${offline.checks.length} checks on the written export`);
    line(paint("dim", `    ${exportPath} (what \`vargate verify\` checks; removed with the temp directory)`));

    heading("Replay after a policy change");
    const replay = await governor.replay.session(tenantId, sessionId, {
      policy: {
        rules: [
          LARGE_TRANSFERS_RULE,
          {
            id: "no-crm",
            when: { tool: "crm_lookup" },
            effect: "deny",
            severity: "medium",
            message: "CRM lookups are off",
          },
        ],
      },
    });
    line(`  candidate policy adds: deny crm_lookup`);
    line(`  replayed ${replay.total_replayed}: ${replay.consistent} consistent, ${replay.changed} changed`);
    for (const change of replay.changes) {
      line(`  ${paint("yellow", "changed")} ${change.tool}: ${change.original_decision} → ${change.replayed_decision}`);
    }
    expect(
      replay.changes.some((c) => c.tool === "crm_lookup"),
      "the replay did not flag crm_lookup",
    );

    line(`\n${paint("green", "Demo complete")} in ${((Date.now() - started) / 1000).toFixed(1)}s.`);
    return EXIT_OK;
  } finally {
    for (const close of cleanup) await close().catch(() => {});
  }
}

function demoTools(targetUrl: string) {
  const post = async (path: string, body: unknown, authorization?: string) => {
    const response = await fetch(`${targetUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization && { authorization }) },
      body: JSON.stringify(body),
    });
    return (await response.json()) as { ok: boolean };
  };
  return [
    defineTool({
      name: "crm_lookup",
      description: "Look a customer up in the CRM",
      inputSchema: z.object({ customer_id: z.string().min(1) }),
      credentials: ["crm"],
      execute: async (input, { credentials }) => ({
        ...(await post("/crm", input, `Bearer ${credentials.crm}`)),
        customer: { id: input.customer_id, name: "Ada Lovelace", tier: "gold" },
      }),
    }),
    defineTool({
      name: "create_transfer",
      description: "Move money",
      inputSchema: z.object({ amount: z.number().positive(), to: z.string() }),
      execute: async (input) => post("/transfers", input),
    }),
    defineTool({
      name: "send_email",
      description: "Send an email",
      inputSchema: z.object({ to: z.string(), subject: z.string(), body: z.string() }),
      execute: async (input) => post("/email", input),
    }),
  ];
}

/** A stand-in for the customer's APIs: records each request, Authorization header included. */
async function startTarget() {
  const requests: TargetRequest[] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    requests.push({ url: req.url ?? "", authorization: req.headers.authorization, body });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, requests, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Re-runs `probe` until it returns something truthy, or `timeoutMs` passes (then undefined). */
async function poll<T>(probe: () => Promise<T | false | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function parseBody(request: TargetRequest): Record<string, unknown> {
  try {
    return JSON.parse(request.body) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function describeInput(record: AuditRecord | undefined): string {
  const input = record?.input as Record<string, unknown> | null;
  const inner = input !== null && typeof input === "object" && "input" in input ? input.input : input;
  return JSON.stringify(inner ?? {});
}

function mask(secret: string): string {
  return `${secret.slice(0, 8)}…`;
}

function violationsOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { violations?: string[] };
    if (parsed.violations?.length) return parsed.violations.join("; ");
  } catch {
    // Not JSON: show the text as it is.
  }
  return text.slice(0, 120);
}
