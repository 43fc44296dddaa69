export {
  ANOMALY_LIMITS,
  type AnomalyConfig,
  type AnomalyConfigInput,
  anomalyConfigSchema,
  type CustomAnomalyRuleConfig,
  DEFAULT_ANOMALY_THRESHOLD,
} from "./config.js";
export {
  AnomalyRuleSet,
  compileAnomalyRules,
  defaultAnomalyRules,
  detectAnomalies,
  MAX_SCANNED_CHARS,
} from "./detect.js";
export { DEFAULT_ANOMALY_RULE_IDS, DEFAULT_ANOMALY_RULES, FILE_TOOLS, SHELL_TOOLS, WEB_TOOLS } from "./rules.js";
export { ANOMALY_SEVERITY_BUMPS, interruptReason, maxHitSeverity, nextAnomalyScore, shouldInterrupt } from "./score.js";
export type {
  AnomalyHit,
  AnomalyRule,
  AnomalySeverity,
  DomainAnomalyRule,
  LengthAnomalyRule,
  PatternAnomalyRule,
} from "./types.js";
