// Where `vargate demo` runs its session: the fake platform (default) or the real Managed Agents API.
import type { FakeAgentScript, FakeScriptStep } from "../testing/fake-platform/types.js";
import type { ManagedAgentsUpstream, UpstreamEvent } from "../upstream/port.js";
import { CliError } from "./io.js";

/** Port the demo listens on with the real API, where VARGATE_PUBLIC_URL (a tunnel, say) must forward to. */
export const DEFAULT_REAL_DEMO_PORT = 8787;

const mcpCall = (name: string, input: Record<string, unknown>): FakeScriptStep => ({
  type: "mcp_tool_use",
  server: "vargate",
  name,
  input,
});

/**
 * What the user says at each step, and what the fake platform's scripted agent does when it hears it. With the
 * real API, Claude hears the same words and decides for itself.
 */
export const DEMO_TURNS = {
  lookup: {
    say: "Look up customer c-42 with the crm_lookup tool.",
    fake: [mcpCall("crm_lookup", { customer_id: "c-42" })],
  },
  transfer: {
    say: "Create a transfer of 5000 to account acct-9 with the create_transfer tool.",
    fake: [mcpCall("create_transfer", { amount: 5000, to: "acct-9" })],
  },
  email: {
    say: 'Send an email with the send_email tool to ceo@example.com, subject "Refund", body "Refund issued".',
    fake: [mcpCall("send_email", { to: "ceo@example.com", subject: "Refund", body: "Refund issued" })],
  },
  builtins: {
    say: "Read the file README.md with the read tool, then run `ls` with the bash tool.",
    fake: [
      { type: "tool_use", name: "read", input: { file_path: "README.md" }, result: "# README" },
      { type: "tool_use", name: "bash", input: { command: "ls" }, result: "README.md" },
    ],
  },
  anomaly: {
    say: "Run `cat /etc/passwd` with the bash tool.",
    fake: [{ type: "tool_use", name: "bash", input: { command: "cat /etc/passwd" }, result: "root:x:0:0" }],
  },
} as const satisfies Record<string, { say: string; fake: readonly FakeScriptStep[] }>;

/** The fake platform's agent for the demo: it does what each of DEMO_TURNS asks. */
export const demoAgentScript: FakeAgentScript = ({ text }) =>
  Object.values(DEMO_TURNS).find((turn) => turn.say === text)?.fake ?? [{ type: "message", text: "?" }];

export interface DemoPlatform {
  readonly kind: "fake" | "real";
  readonly upstream: ManagedAgentsUpstream;
  /** Where the governor listens: an ephemeral loopback port with the fake, a fixed one with the real API. */
  readonly port: number;
  /** The governor's URL as the platform reaches it; with the fake, the loopback URL. */
  readonly publicUrl: string | undefined;
  readonly description: string;
  close(): Promise<void>;
}

export interface DemoPlatformOptions {
  real?: boolean;
  fake?: boolean;
  port?: number;
}

/**
 * The real API when asked for (`--real`) or when ANTHROPIC_API_KEY is set, else the fake platform. The real API
 * must reach the governor's MCP endpoint, so it also needs VARGATE_PUBLIC_URL; without it a set key only earns a
 * note, and `--real` is refused with what is missing.
 */
export async function demoPlatform(
  options: DemoPlatformOptions,
  env: Readonly<Record<string, string | undefined>>,
  note: (text: string) => void,
): Promise<DemoPlatform> {
  const { anthropicUpstream } = await import("../upstream/anthropic.js");
  const wantsReal = options.real === true || (env.ANTHROPIC_API_KEY !== undefined && options.fake !== true);
  if (wantsReal) {
    const missing = ["ANTHROPIC_API_KEY", "VARGATE_PUBLIC_URL"].filter((name) => !env[name]);
    if (missing.length === 0) {
      return {
        kind: "real",
        upstream: anthropicUpstream({
          apiKey: env.ANTHROPIC_API_KEY as string,
          ...(env.ANTHROPIC_BASE_URL && { baseURL: env.ANTHROPIC_BASE_URL }),
        }),
        port: options.port ?? DEFAULT_REAL_DEMO_PORT,
        publicUrl: env.VARGATE_PUBLIC_URL,
        description: `the Managed Agents API at ${env.ANTHROPIC_BASE_URL ?? "https://api.anthropic.com"}`,
        close: async () => {},
      };
    }
    const requirement =
      "the real API needs ANTHROPIC_API_KEY and VARGATE_PUBLIC_URL, a public URL that forwards to the demo's port " +
      `(--port, default ${DEFAULT_REAL_DEMO_PORT}) so the platform can reach the MCP endpoint (docs/cli.md#demo)`;
    if (options.real) throw new CliError(`--real: ${missing.join(" and ")} not set; ${requirement}`);
    note(`ANTHROPIC_API_KEY is set, but ${requirement}; using the fake platform.`);
  }
  const { createFakePlatform } = await import("../testing/fake-platform/index.js");
  const fake = await createFakePlatform({ heartbeatMs: 0, defaultScript: demoAgentScript });
  return {
    kind: "fake",
    upstream: anthropicUpstream({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0 }),
    port: 0,
    publicUrl: undefined,
    description: `the fake Managed Agents platform at ${fake.url}`,
    close: () => fake.close(),
  };
}

export interface McpResult {
  text: string;
  isError: boolean;
}

/**
 * Sends a user message the way the customer's app does, then waits until the agent is idle again and returns the
 * MCP tool results of that turn (read from the session's event history, which both platforms serve).
 */
export async function sayAndWait(
  upstream: ManagedAgentsUpstream,
  upstreamSessionId: string,
  text: string,
  timeoutMs: number,
): Promise<McpResult[]> {
  const [sent] = await upstream.sendEvents(upstreamSessionId, [
    { type: "user.message", content: [{ type: "text", text }] },
  ]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events: UpstreamEvent[] = [];
    for await (const event of upstream.listEvents(upstreamSessionId)) events.push(event);
    const after = events.slice(events.findIndex((event) => event.id === sent?.id) + 1);
    const end = after.findIndex((e) => e.type === "session.status_idle" || e.type === "session.status_terminated");
    if (sent && end >= 0) {
      return after
        .slice(0, end)
        .filter((event) => event.type === "agent.mcp_tool_result")
        .map((event) => ({
          text: ((event.content as { text?: string }[] | undefined) ?? []).map((part) => part.text ?? "").join(""),
          isError: event.is_error === true,
        }));
    }
    if (Date.now() > deadline) throw new CliError(`the agent did not finish the turn "${text}" in time`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
