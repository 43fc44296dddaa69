import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError } from "@anthropic-ai/sdk";
import type { EventSourceMessage } from "eventsource-parser";
import { isVargateError, UpstreamError } from "../errors.js";
import type {
  ManagedAgentsUpstream,
  UpstreamAgent,
  UpstreamEvent,
  UpstreamEventStream,
  UpstreamSession,
} from "./port.js";
import { readServerSentEvents } from "./sse.js";

export interface AnthropicUpstreamOptions {
  /** Your own configured client. Give this, or `apiKey` (and optionally `baseURL`). */
  client?: Anthropic;
  /** API key for a client vargate builds. @default process.env.ANTHROPIC_API_KEY (read by the SDK) */
  apiKey?: string;
  /** Base URL for a client vargate builds. @default process.env.ANTHROPIC_BASE_URL, else the public API */
  baseURL?: string;
  /** Retries the SDK makes on 408/409/429/5xx and connection errors. @default 2 */
  maxRetries?: number;
}

/** Events listed per page when backfilling history. */
const EVENT_PAGE_SIZE = 1000;

/**
 * The Managed Agents upstream on `@anthropic-ai/sdk`. Streams are read with `eventsource-parser` rather than the
 * SDK's reader, which drops frames without an `event:` line. Errors are translated once, here.
 */
export function anthropicUpstream(options: AnthropicUpstreamOptions = {}): ManagedAgentsUpstream {
  const client =
    options.client ??
    new Anthropic({
      ...(options.apiKey !== undefined && { apiKey: options.apiKey }),
      ...(options.baseURL !== undefined && { baseURL: options.baseURL }),
      ...(options.maxRetries !== undefined && { maxRetries: options.maxRetries }),
    });
  const beta = client.beta;

  return {
    createAgent: (params) => call(async () => (await beta.agents.create(params as never)) as unknown as UpstreamAgent),
    updateAgent: (agentId, params) =>
      call(async () => (await beta.agents.update(agentId, params as never)) as unknown as UpstreamAgent),
    createEnvironment: (params) => call(() => beta.environments.create(params as never)),
    createVault: (params) => call(() => beta.vaults.create(params)),
    createBearerCredential: (vaultId, { mcp_server_url, token, display_name }) =>
      call(() =>
        beta.vaults.credentials.create(vaultId, {
          auth: { type: "static_bearer", mcp_server_url, token },
          ...(display_name !== undefined && { display_name }),
        }),
      ),
    deleteVault: (vaultId) =>
      call(async () => {
        await beta.vaults.delete(vaultId);
      }),
    createSession: (params) =>
      call(async () => (await beta.sessions.create(params as never)) as unknown as UpstreamSession),
    retrieveSession: (sessionId) =>
      call(async () => (await beta.sessions.retrieve(sessionId)) as unknown as UpstreamSession),
    archiveSession: (sessionId) =>
      call(async () => (await beta.sessions.archive(sessionId)) as unknown as UpstreamSession),
    sendEvents: (sessionId, events) =>
      call(async () => {
        const sent = await beta.sessions.events.send(sessionId, { events: events as never });
        return (sent.data ?? []) as unknown as UpstreamEvent[];
      }),
    listEvents: (sessionId, listOptions = {}) => ({
      async *[Symbol.asyncIterator]() {
        const params = {
          order: "asc" as const,
          limit: EVENT_PAGE_SIZE,
          ...(listOptions.processedAtOrAfter !== undefined && { "created_at[gte]": listOptions.processedAtOrAfter }),
        };
        try {
          for await (const event of beta.sessions.events.list(sessionId, params)) yield event as UpstreamEvent;
        } catch (error) {
          throw translate(error);
        }
      },
    }),
    streamEvents: (sessionId, streamOptions = {}) =>
      call(async () => {
        const response = await beta.sessions.events
          .stream(sessionId, {}, { ...(streamOptions.signal && { signal: streamOptions.signal }) })
          .asResponse();
        if (!response.body) throw new UpstreamError("UPSTREAM_ERROR", "Event stream has no body");
        return eventStream(response.body);
      }),
  };
}

/** The live stream: its events one by one, or grouped by network read (`batches`). */
function eventStream(body: ReadableStream<Uint8Array>): UpstreamEventStream {
  const batches = () => parseEventBatches(body);
  return {
    batches,
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches()) yield* batch;
    },
  };
}

/**
 * The events of each network read. A failing message (an `error` event, unparsable data) ends the stream after
 * the events before it in its read have been yielded.
 */
async function* parseEventBatches(body: ReadableStream<Uint8Array>): AsyncGenerator<UpstreamEvent[]> {
  try {
    for await (const messages of readServerSentEvents(body)) {
      const events: UpstreamEvent[] = [];
      let failure: { error: unknown } | undefined;
      for (const message of messages) {
        try {
          const event = eventOf(message);
          if (event) events.push(event);
        } catch (error) {
          failure = { error };
          break;
        }
      }
      if (events.length > 0) yield events;
      if (failure) throw failure.error;
    }
  } catch (error) {
    throw translate(error);
  }
}

/** One SSE message as an event; `undefined` for pings and frames that are not events; throws for `error`. */
function eventOf(message: EventSourceMessage): UpstreamEvent | undefined {
  if (message.event === "ping" || message.data === "") return undefined;
  const data = JSON.parse(message.data) as Record<string, unknown>;
  if (message.event === "error" || data.type === "error") {
    const error = (data.error ?? {}) as { type?: string; message?: string };
    throw new UpstreamError("UPSTREAM_ERROR", `Event stream error: ${error.message ?? "unknown"}`, {
      ...(error.type !== undefined && { upstreamType: error.type }),
    });
  }
  return typeof data.type === "string" ? (data as UpstreamEvent) : undefined;
}

async function call<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw translate(error);
  }
}

/** Maps SDK errors to UpstreamError, keeping status, request id and error type. */
export function translate(error: unknown): Error {
  if (isVargateError(error)) return error;
  if (error instanceof APIConnectionTimeoutError) {
    return new UpstreamError("UPSTREAM_TIMEOUT", error.message, { cause: error });
  }
  if (error instanceof APIConnectionError) {
    return new UpstreamError("UPSTREAM_UNAVAILABLE", error.message, { cause: error });
  }
  if (error instanceof APIError) {
    const evidence = {
      cause: error,
      ...(error.status !== undefined && { upstreamStatus: error.status }),
      ...(error.requestID && { requestId: error.requestID }),
      ...(error.type && { upstreamType: error.type }),
    };
    const code = error.status === 429 ? "UPSTREAM_RATE_LIMITED" : "UPSTREAM_ERROR";
    return new UpstreamError(code, `Managed Agents API error ${error.status ?? ""}: ${error.message}`, evidence);
  }
  // A dropped stream surfaces as a TypeError ("terminated") from fetch.
  return new UpstreamError("UPSTREAM_UNAVAILABLE", error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}
