// Work run in a fresh Node process: what it allocates, and its peak RSS, are its own, whatever ran before it in
// the bench process (Node rarely gives memory back to the OS, and worker threads' allocators keep theirs).
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

interface TaskMessage {
  value?: unknown;
  error?: string;
}

/**
 * Calls the function exported as `task` by `module` with `args` in a new Node process (with tsx and
 * `--expose-gc`, like the bench), and resolves with what it returns. Arguments and result cross as JSON-like
 * values (structured by IPC). `env` is added to the child's environment.
 */
export function runInChild<T>(
  module: string,
  task: string,
  args: readonly unknown[],
  env: Record<string, string> = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = fork(fileURLToPath(new URL("./child-task-main.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx", "--expose-gc"],
      env: { ...process.env, ...env },
    });
    let result: TaskMessage | undefined;
    child.on("message", (message) => {
      result = message as TaskMessage;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (result && result.error === undefined) resolve(result.value as T);
      else reject(new Error(`${task} in a child process failed (exit ${code}): ${result?.error ?? "no result"}`));
    });
    child.send({ module, task, args });
  });
}
