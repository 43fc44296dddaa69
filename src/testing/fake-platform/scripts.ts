import type { Turn } from "./runtime.js";
import type { SessionRecord } from "./store.js";
import type { FakeAgentScript, FakeScriptStep, FakeSessionState } from "./types.js";

/** What an unscripted agent does: answer with one message. */
export const BUILTIN_DEFAULT_SCRIPT: readonly FakeScriptStep[] = [{ type: "message", text: "Done." }];

/**
 * Which script a turn plays: the session's own, else its agent's, else the fake's default. Scripts are looked
 * up when the turn starts, so changing one affects the next turn, never the running one.
 */
export class ScriptBook {
  private readonly byTarget = new Map<string, FakeAgentScript>();
  defaultScript: FakeAgentScript = BUILTIN_DEFAULT_SCRIPT;

  set(target: string, script: FakeAgentScript | null): void {
    if (script === null) this.byTarget.delete(target);
    else this.byTarget.set(target, script);
  }

  stepsFor(rec: SessionRecord, turn: Turn, session: FakeSessionState): readonly FakeScriptStep[] {
    const agentId = (rec.wire.agent as { id: string }).id;
    const script = this.byTarget.get(rec.wire.id as string) ?? this.byTarget.get(agentId) ?? this.defaultScript;
    if (typeof script !== "function") return script;
    const content = (turn.message.content as { type: string; text?: string }[] | undefined) ?? [];
    const text = content
      .filter((block) => block.type === "text")
      .map((block) => block.text ?? "")
      .join("\n");
    return script({ session, message: turn.message, text, turn: turn.number });
  }
}
