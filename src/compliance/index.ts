export { Compliance, type ComplianceDependencies, denialRate } from "./service.js";
export {
  COMPLIANCE_EXPORT_FORMAT,
  type ComplianceExport,
  type ComplianceExportHeader,
  type ComplianceExportSignature,
  type ComplianceInclusionProof,
  type CompliancePolicyVersion,
  type ComplianceSession,
  type ComplianceSummary,
  type ComplianceTimelineItem,
  EXPORT_HEADER_KEYS,
  EXPORT_SIGNATURE_CONTEXT,
} from "./types.js";
export {
  type ComplianceCheck,
  type ComplianceFailure,
  type ComplianceVerification,
  type VerifyComplianceOptions,
  verifyComplianceExport,
  verifyComplianceExportStream,
} from "./verify.js";
