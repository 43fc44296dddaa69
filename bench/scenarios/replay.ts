// replay: `governor.replay.session` over a session of 100,000 governed records (quick: 20,000) in a SQLite file,
// against the stored 100-rule tenant policy. Baseline: the same stored evaluation inputs evaluated with the
// compiled policy in a tight loop.

import { parseTenantPolicy } from "../../src/policy/document.js";
import { compilePolicy, type EvaluationInput } from "../../src/policy/evaluate.js";
import { cpuSeconds, openGovernor, replayFixture } from "../lib/audit-fixture.js";
import { measureBulk } from "../lib/measure.js";
import type { BenchContext, Scenario, ScenarioResult } from "../lib/scenario.js";

export const replay: Scenario = {
  name: "replay",
  description: "replay of governed records against the current 100-rule tenant policy (SQLite)",
  async run(context: BenchContext): Promise<ScenarioResult> {
    const governed = context.quick ? 20_000 : 100_000;
    context.log(`replay: building a session of ${governed} governed records (setup, not measured)`);
    const warm = await replayFixture(2_000);
    const fixture = await replayFixture(governed);
    const governor = await openGovernor();
    try {
      await governor.replay.session(warm.tenantId, warm.sessionId);

      globalThis.gc?.();
      context.log(`replay: replaying ${governed} records`);
      let cpu = 0;
      let result: Awaited<ReturnType<typeof governor.replay.session>> | undefined;
      const measured = await measureBulk(
        `governor.replay.session, ${governed} governed records`,
        governed,
        async () => {
          cpu = await cpuSeconds(async () => {
            result = await governor.replay.session(fixture.tenantId, fixture.sessionId);
          });
        },
      );
      if (result?.total_replayed !== governed) throw new Error(`replay: replayed ${result?.total_replayed}`);

      // The same inputs as stored (read untimed), evaluated by the compiled policy.
      const inputs: EvaluationInput[] = [];
      for await (const record of governor.audit.records(fixture.tenantId)) {
        if (record.source === "mcp_governed") inputs.push(record.input as unknown as EvaluationInput);
      }
      const compiled = compilePolicy(parseTenantPolicy(fixture.policy));
      for (let i = 0; i < Math.min(inputs.length, 10_000); i++) compiled.evaluate(inputs[i] as EvaluationInput);
      globalThis.gc?.();
      context.log("replay: baseline (compiled policy, tight loop)");
      let denied = 0;
      const baseline = await measureBulk(
        `compilePolicy(100 rules).evaluate, ${inputs.length} inputs`,
        inputs.length,
        () => {
          for (let i = 0; i < inputs.length; i++) {
            if (compiled.evaluate(inputs[i] as EvaluationInput).decision !== "allow") denied += 1;
          }
        },
      );
      const ratio = measured.throughput / baseline.throughput;
      return {
        measured: {
          ...measured,
          extra: { ratio_to_baseline: Math.round(ratio * 1000) / 1000, changed: result.changed, cpu_seconds: cpu },
        },
        baseline: { ...baseline, extra: { not_allowed: denied } },
        target: "≥ 50% of decision throughput",
        targetMet: ratio >= 0.5,
        notes:
          "Baseline is measured in this scenario on the replayed records' stored inputs (not the decision " +
          "scenario's input), so both sides evaluate exactly the same documents.",
      };
    } finally {
      await governor.close();
    }
  },
};
