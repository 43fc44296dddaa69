// Anomaly scoring: bumps per severity, the cap, the threshold, and the interrupt reason.
import { describe, expect, it } from "vitest";
import {
  ANOMALY_SEVERITY_BUMPS,
  type AnomalyHit,
  compileAnomalyRules,
  DEFAULT_ANOMALY_THRESHOLD,
  detectAnomalies,
  interruptReason,
  maxHitSeverity,
  nextAnomalyScore,
  shouldInterrupt,
} from "../../src/anomaly/index.js";

const hit = (severity: AnomalyHit["severity"], rule = `${severity}_rule`): AnomalyHit => ({
  rule,
  severity,
  detail: "x",
});

describe("nextAnomalyScore", () => {
  it.each([
    [0, [], 0],
    [0, [hit("low")], 0.05],
    [0, [hit("medium")], 0.15],
    [0, [hit("high")], 0.3],
    [0, [hit("critical")], 0.8],
    [0.1, [hit("medium"), hit("low")], 0.3],
    [0.15, [hit("critical")], 0.95],
    [0.5, [hit("critical")], 1],
    [0.9, [hit("high"), hit("high")], 1],
    [0.7, [], 0.7],
    [-3, [hit("low")], 0.05],
    [7, [], 1],
    [Number.NaN, [hit("high")], 0.3],
  ] as [number, AnomalyHit[], number][])("from %s with %j gives %s", (previous, hits, expected) => {
    expect(nextAnomalyScore(previous, hits)).toBe(expected);
  });

  it("rounds to 4 decimals, so sums do not drift", () => {
    let score = 0;
    for (let i = 0; i < 3; i++) score = nextAnomalyScore(score, [hit("low"), hit("medium")]);
    expect(score).toBe(0.6);
  });

  it("uses the documented bumps", () => {
    expect(ANOMALY_SEVERITY_BUMPS).toEqual({ low: 0.05, medium: 0.15, high: 0.3, critical: 0.8 });
  });
});

describe("shouldInterrupt", () => {
  it.each([
    [0.8, undefined, true],
    [0.7999, undefined, false],
    [1, undefined, true],
    [0.5, 0.5, true],
    [0.45, 0.5, false],
    [0.95, 1, false],
  ] as [number, number | undefined, boolean][])("score %s, threshold %s: %s", (score, threshold, expected) => {
    expect(shouldInterrupt(score, threshold)).toBe(expected);
  });

  it("a single critical hit crosses the default threshold; a single medium one does not", () => {
    expect(DEFAULT_ANOMALY_THRESHOLD).toBe(0.8);
    expect(shouldInterrupt(nextAnomalyScore(0, [hit("critical")]))).toBe(true);
    expect(shouldInterrupt(nextAnomalyScore(0, [hit("medium")]))).toBe(false);
    expect(shouldInterrupt(nextAnomalyScore(0, [hit("high"), hit("high")]))).toBe(false);
    expect(shouldInterrupt(nextAnomalyScore(0, [hit("high"), hit("high"), hit("high")]))).toBe(true);
  });

  it("rm -rf / observed once interrupts; ls -la never does", () => {
    const rules = compileAnomalyRules();
    const score = nextAnomalyScore(0, detectAnomalies("bash", { command: "rm -rf /" }, rules));
    expect(score).toBe(1);
    expect(shouldInterrupt(score, rules.threshold)).toBe(true);
    let quiet = 0;
    for (let i = 0; i < 100; i++)
      quiet = nextAnomalyScore(quiet, detectAnomalies("bash", { command: "ls -la" }, rules));
    expect(shouldInterrupt(quiet, rules.threshold)).toBe(false);
  });

  it("a tenant threshold changes when medium hits interrupt", () => {
    const rules = compileAnomalyRules({ threshold: 0.3 });
    let score = 0;
    score = nextAnomalyScore(score, detectAnomalies("bash", { command: "sudo ls" }, rules));
    expect(shouldInterrupt(score, rules.threshold)).toBe(false);
    score = nextAnomalyScore(score, detectAnomalies("bash", { command: "sudo ls" }, rules));
    expect(shouldInterrupt(score, rules.threshold)).toBe(true);
  });
});

describe("interruptReason", () => {
  it("names the rules, most severe first, each once", () => {
    const hits = [
      hit("high", "destructive_recursive_delete"),
      hit("critical", "destructive_root_delete"),
      hit("high", "destructive_recursive_delete"),
    ];
    expect(interruptReason(hits)).toBe(
      "Automatic interrupt: anomaly rules destructive_root_delete (critical), destructive_recursive_delete (high)",
    );
  });

  it("includes the score and threshold when given", () => {
    expect(interruptReason([hit("critical", "fork_bomb")], { score: 1, threshold: 0.8 })).toBe(
      "Automatic interrupt: anomaly score 1.00 reached threshold 0.80 (rules: fork_bomb (critical))",
    );
    expect(interruptReason([hit("critical", "fork_bomb")], { score: 0.95 })).toMatch(/threshold 0\.80/);
  });

  it("stays short with many rules", () => {
    const hits = Array.from({ length: 15 }, (_, i) => hit("low", `rule_${i}`));
    const reason = interruptReason(hits);
    expect(reason).toMatch(/rule_9 \(low\), and 5 more$/);
    expect(interruptReason([])).toBe("Automatic interrupt: anomaly rules none");
  });
});

describe("maxHitSeverity", () => {
  it("is the worst severity, or none", () => {
    expect(maxHitSeverity([])).toBe("none");
    expect(maxHitSeverity([hit("low"), hit("high"), hit("medium")])).toBe("high");
  });
});
