#!/usr/bin/env node
// The `vargate` executable: wires the process to run(). Everything else lives in run.ts.
import { run } from "./run.js";

const controller = new AbortController();
let signals = 0;
const onSignal = () => {
  signals += 1;
  // A second signal while shutting down means "now".
  if (signals > 1) process.exit(130);
  controller.abort();
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

// No top-level await: this entry is also built as CommonJS.
void run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  signal: controller.signal,
  readStdin: async () => {
    let text = "";
    for await (const chunk of process.stdin) text += chunk;
    return text;
  },
}).then((exitCode) => {
  // Exit once stdout has drained, so piped output is never cut short.
  process.stdout.write("", () => process.exit(exitCode));
});
