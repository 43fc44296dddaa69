// The program of a child started by `runInChild`: imports the module, runs the task, sends back its result.

interface TaskRequest {
  module: string;
  task: string;
  args: unknown[];
}

const send = (message: unknown) =>
  new Promise<void>((resolve) => {
    process.send?.(message, () => resolve());
  });

process.once("message", (request: TaskRequest) => {
  void (async () => {
    try {
      const exports = (await import(request.module)) as Record<string, unknown>;
      const task = exports[request.task];
      if (typeof task !== "function") throw new Error(`${request.module} exports no function ${request.task}`);
      await send({ value: await task(...request.args) });
    } catch (error) {
      await send({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
    process.disconnect?.();
  })();
});
