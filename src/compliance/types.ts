import type { AuditDecision, AuditSource, ChainVerification, Severity } from "../audit/types.js";
import type { CheckpointPublicKey, CheckpointRecord } from "../checkpoints/index.js";
import type { JsonValue } from "../json.js";
import type { SessionRecord } from "../sessions/types.js";

/** The `format` of a compliance export this version writes and verifies. */
export const COMPLIANCE_EXPORT_FORMAT = "vargate-compliance-export/v1";

/** Prefixes the export hash in the message the export signature covers (plain Ed25519 over its UTF-8 bytes). */
export const EXPORT_SIGNATURE_CONTEXT = "vargate-compliance-export/v1\n";

/** The top-level keys of an export covered by `export_hash`: every one sorts before `timeline` (RFC 8785 order). */
export const EXPORT_HEADER_KEYS = [
  "agcs_controls",
  "chain_verification",
  "checkpoint",
  "format",
  "generated_at",
  "governance_profile",
  "policy_versions",
  "public_key",
  "session",
  "summary",
] as const;

export interface ComplianceSession {
  id: string;
  agent_id: string;
  status: SessionRecord["status"];
  system_prompt_hash: string;
  created_at: string;
  ended_at: string | null;
  /** Whole seconds from `created_at` to `ended_at` (to `generated_at` while the session is still running). */
  duration_seconds: number;
}

export interface ComplianceSummary {
  /** `governed_calls + observed_calls`; control-plane records are not events. */
  total_events: number;
  governed_calls: number;
  observed_calls: number;
  /** Governed calls denied by policy. */
  denied: number;
  /** Approvals of the session still waiting for a human. */
  pending: number;
  /** Observed tool uses with an anomaly finding (severity other than `none`). */
  anomalies_detected: number;
  /** `denied / total_events` as a percentage with two decimals, e.g. `"5.88%"`; `"0.00%"` without events. */
  denial_rate: string;
  /** Approvals and rejections a human decided. */
  approvals_used: number;
}

/** An RFC 9162 audit path of one timeline record in the export's checkpoint. */
export interface ComplianceInclusionProof {
  /** `seq - 1`. */
  leaf_index: number;
  /** Sibling hashes from the leaf to the root, hex. */
  hashes: string[];
}

/** One governed or observed record: the seed's fields, every hashed field, the record hash and its proof. */
export interface ComplianceTimelineItem {
  action_id: string;
  tool: string;
  decision: AuditDecision;
  source: Exclude<AuditSource, "control_plane">;
  requested_at: string;
  tenant_id: string;
  seq: number;
  session_id: string | null;
  agent_id: string | null;
  event_id: string | null;
  actor: string | null;
  method: string;
  severity: Severity;
  violations: string[];
  input: JsonValue;
  policy_version: number | null;
  prev_hash: string;
  record_hash: string;
  /** `null` only when no checkpoint could be signed (a broken chain). */
  inclusion_proof: ComplianceInclusionProof | null;
}

export interface CompliancePolicyVersion {
  /** `null`: no tenant policy was stored yet (the empty policy plus the governor's code rules). */
  version: number | null;
  /** SHA-256 of the RFC 8785 JSON of the policy document, hex; `null` for version `null` or a missing version. */
  document_hash: string | null;
  created_at: string | null;
  /** Governed calls of the session evaluated under this version. */
  governed_calls: number;
}

export interface ComplianceExportSignature {
  algorithm: "Ed25519";
  key_id: string;
  /** Ed25519 over the UTF-8 bytes of `"vargate-compliance-export/v1\n" + export_hash`, base64. */
  signature: string;
}

/** A compliance export (`format` `vargate-compliance-export/v1`); see docs/concepts/compliance-export.md. */
export interface ComplianceExport {
  format: typeof COMPLIANCE_EXPORT_FORMAT;
  session: ComplianceSession;
  governance_profile: { allowed_tools: string[]; require_human_approval: string[] };
  summary: ComplianceSummary;
  agcs_controls: Record<string, string>;
  /** The tenant chain's verification, run at export time. */
  chain_verification: ChainVerification;
  /** The signed checkpoint every timeline record is proven against; `null` only when none could be signed. */
  checkpoint: CheckpointRecord | null;
  /** The key that signed the checkpoint and the export. Embedded for convenience: get it independently too. */
  public_key: CheckpointPublicKey;
  policy_versions: CompliancePolicyVersion[];
  generated_at: string;
  timeline: ComplianceTimelineItem[];
  /** SHA-256 (hex) of the RFC 8785 JSON of the export without `export_hash` and `export_signature`. */
  export_hash: string;
  export_signature: ComplianceExportSignature;
}

/** The export without its timeline and the two trailing fields: what is known before the timeline streams. */
export type ComplianceExportHeader = Omit<ComplianceExport, "timeline" | "export_hash" | "export_signature">;
