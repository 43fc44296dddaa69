// Acme's governance, as code under review: the tenant policy document (what `PUT /managed/policy` stores) and the
// agent config it is written for. The tests next to it pin down what it decides.
import type { CreateAgentConfigInput, TenantPolicyInput } from "vargate";

export const supportAgent = {
  name: "support-agent",
  allowed_tools: ["crm_lookup", "send_email", "create_transfer", "run_command"],
} satisfies CreateAgentConfigInput;

export const acmePolicy = {
  description: "Acme support: no destructive commands, external email needs a human, small transfers only",
  rules: [
    {
      id: "no-rm-rf",
      when: { tool: "run_command", input: [{ field: "command", op: "matches", value: "\\brm\\s+-[a-zA-Z]*[rRf]" }] },
      effect: "deny",
      severity: "critical",
      message: "Recursive or forced deletes are never run by an agent",
    },
    {
      id: "external-email",
      when: { tool: "send_email", input: [{ field: "to", op: "email_domain_not_in", value: ["acme.com"] }] },
      effect: "requires_human",
      severity: "medium",
      message: "Email outside acme.com needs approval",
    },
    {
      id: "large-transfer",
      when: { tool: "create_transfer", input: [{ field: "amount", op: "gt", value: 1000 }] },
      effect: "deny",
      severity: "high",
      message: "Transfers over 1000 are denied",
    },
  ],
  // Built-in tools (bash, write, …) are observed, not decided: their anomaly score interrupts the session.
  anomaly: { threshold: 0.8 },
} satisfies TenantPolicyInput;
