// Runs the fake Managed Agents platform in a child process, so the platform's own CPU and heap (it stands in for
// a remote service) are not charged to the governor under test. Driven over IPC by remote-fake-platform.ts.
import { writeFileSync } from "node:fs";
import { createFakePlatform, type FakeScriptStep } from "../../../src/testing/fake-platform/index.js";
import type { ChildCommand, ChildReply } from "./remote-fake-platform.js";

const send = (reply: ChildReply) => process.send?.(reply);
const fake = await createFakePlatform({ heartbeatMs: 0 });
let release: () => void = () => {};
let released = Promise.resolve();

process.on("message", async (command: ChildCommand) => {
  try {
    switch (command.type) {
      case "script": {
        // Every turn first waits for "release", then plays `toolUses` built-in bash uses back to back.
        released = new Promise<void>((resolve) => {
          release = resolve;
        });
        const steps: FakeScriptStep[] = [];
        if (command.gated) steps.push({ type: "wait", until: released });
        for (let i = 0; i < command.toolUses; i++) {
          steps.push({ type: "tool_use", name: "bash", input: { command: `echo ${i}` }, result: String(i) });
        }
        if (command.toolUses === 0) steps.push({ type: "message", text: "Ready." });
        fake.setDefaultScript(steps);
        send({ type: "ok" });
        return;
      }
      case "release": {
        const started = performance.now();
        release();
        const sessions = fake.sessions().map((session) => session.id);
        await Promise.all(sessions.map((id) => fake.settled(id, { timeoutMs: 600_000 })));
        const events = sessions.reduce((sum, id) => sum + (fake.session(id)?.events.length ?? 0), 0);
        send({ type: "settled", events, ms: performance.now() - started });
        return;
      }
      case "dump": {
        // The SSE bytes of the session's history exactly as the stream writes them (sse.ts `write`).
        const events = fake.session(command.sessionId)?.events ?? [];
        writeFileSync(
          command.path,
          events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join(""),
        );
        send({ type: "ok" });
        return;
      }
      case "stats": {
        const sessions = fake.sessions();
        send({
          type: "stats",
          sessions: sessions.length,
          openStreams: sessions.reduce((n, s) => n + s.openStreams, 0),
        });
        return;
      }
      case "close":
        await fake.close();
        send({ type: "ok" });
        process.exit(0);
    }
  } catch (error) {
    send({ type: "error", message: error instanceof Error ? error.message : String(error) });
  }
});

send({ type: "ready", url: fake.url, apiKey: fake.apiKey });
