import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { arrivals, arrived } from "../../src/consumers/batches.js";
import { isVargateError } from "../../src/errors.js";
import { anthropicUpstream } from "../../src/upstream/anthropic.js";
import type { UpstreamEvent, UpstreamEventStream } from "../../src/upstream/port.js";

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

/** Yields `groups` back to back, each ready as soon as it is asked for (data already read). */
async function* ready<T>(groups: T[][]): AsyncGenerator<T[]> {
  yield* groups;
}

const macrotask = () => new Promise((resolve) => setImmediate(resolve));
/** What waiting for the network looks like to the reader: a later timer, not a turn already scheduled. */
const network = () => new Promise((resolve) => setTimeout(resolve, 10));

describe("arrived", () => {
  it("takes every group that is ready into one batch", async () => {
    expect(await collect(arrived(ready([[1, 2], [3], [4, 5, 6]]), 10))).toEqual([[1, 2, 3, 4, 5, 6]]);
  });

  it("splits what arrived at `max` items a batch", async () => {
    expect(
      await collect(
        arrived(
          ready([
            [1, 2, 3],
            [4, 5, 6, 7, 8],
          ]),
          3,
        ),
      ),
    ).toEqual([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8],
    ]);
  });

  it("takes a group larger than a call's argument list", async () => {
    const large = Array.from({ length: 300_000 }, (_, index) => index + 1);
    const [batch] = await collect(arrived(ready([[0], large]), 1_000_000));
    expect(batch?.length).toBe(300_001);
    expect(batch?.[300_000]).toBe(300_000);
  });

  it("does not wait for a group that needs the network: it starts the next batch", async () => {
    async function* trickle() {
      yield [1, 2];
      await network();
      yield [3];
    }
    expect(await collect(arrived(trickle(), 10))).toEqual([[1, 2], [3]]);
  });

  it("hands over what arrived before a failure, then fails", async () => {
    async function* failing() {
      yield [1];
      yield [2, 3];
      throw new Error("dropped");
    }
    const batches: number[][] = [];
    await expect(
      (async () => {
        for await (const batch of arrived(failing(), 10)) batches.push(batch);
      })(),
    ).rejects.toThrow("dropped");
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it("closes the source when its reader stops early", async () => {
    let closed = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) {
          await macrotask();
          yield [i];
        }
      } finally {
        closed = true;
      }
    }
    for await (const batch of arrived(endless(), 10)) {
      if ((batch[0] as number) >= 2) break;
    }
    await macrotask();
    await macrotask();
    expect(closed).toBe(true);
  });
});

describe("arrivals", () => {
  const event = (id: string): UpstreamEvent => ({ type: "agent.message", id });

  it("reads a stream's own groups when it has them", async () => {
    const stream: UpstreamEventStream = {
      batches: () => ready([[event("a"), event("b")], [event("c")]]),
      [Symbol.asyncIterator]() {
        throw new Error("read event by event");
      },
    };
    expect((await collect(arrivals(stream))).map((group) => group.map((e) => e.id))).toEqual([["a", "b"], ["c"]]);
  });

  it("makes a group of each event of a plain iterable", async () => {
    const plain = ready([[event("a"), event("b")]]);
    async function* events() {
      for await (const group of plain) yield* group;
    }
    expect((await collect(arrivals(events()))).map((group) => group.map((e) => e.id))).toEqual([["a"], ["b"]]);
  });
});

describe("the Anthropic upstream's live stream", () => {
  /** An upstream whose event stream answers `sse` (one chunk per entry), through the real SDK client. */
  function upstreamAnswering(chunks: string[]) {
    const client = new Anthropic({
      apiKey: "sk-test",
      baseURL: "http://upstream.invalid",
      maxRetries: 0,
      fetch: async () => {
        const encoder = new TextEncoder();
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
            controller.close();
          },
        });
        return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
      },
    });
    return anthropicUpstream({ client });
  }
  const frame = (type: string, id: string) => `event: ${type}\ndata: ${JSON.stringify({ type, id })}\n\n`;

  it("groups the events of each read, skips pings, and reads the same events one by one", async () => {
    const chunks = [
      `${frame("agent.message", "e1")}: comment\n\n${frame("agent.tool_use", "e2")}`,
      "event: ping\ndata: {}\n\n",
      frame("agent.tool_result", "e3"),
    ];
    const grouped = (await upstreamAnswering(chunks).streamEvents("sesn_1")) as UpstreamEventStream;
    expect(typeof grouped.batches).toBe("function");
    expect((await collect(grouped.batches())).map((group) => group.map((e) => e.id))).toEqual([["e1", "e2"], ["e3"]]);
    const single = await upstreamAnswering(chunks).streamEvents("sesn_1");
    expect((await collect(single)).map((e) => e.id)).toEqual(["e1", "e2", "e3"]);
  });

  it("yields the events before an error frame of the same read, then fails with UPSTREAM_ERROR", async () => {
    const chunks = [
      frame("agent.message", "e1") +
        `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "busy" } })}\n\n` +
        frame("agent.message", "e2"),
    ];
    const stream = (await upstreamAnswering(chunks).streamEvents("sesn_1")) as UpstreamEventStream;
    const seen: string[] = [];
    let failure: unknown;
    try {
      for await (const group of stream.batches()) seen.push(...group.map((e) => e.id));
    } catch (error) {
      failure = error;
    }
    expect(seen).toEqual(["e1"]);
    expect(isVargateError(failure, "UPSTREAM_ERROR")).toBe(true);
    expect((failure as { upstreamType?: string }).upstreamType).toBe("overloaded_error");
  });
});
