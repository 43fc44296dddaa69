import { conflict } from "./errors.js";
import { requireObject } from "./http.js";
import { MAX_PAGE_SIZE, orderOf, paginate, timeFilter } from "./pagination.js";
import type { RouteDeps } from "./routes.js";
import { sessionRecord } from "./routes-sessions.js";
import type { FakeEvent, JsonObject } from "./types.js";

export function registerEventRoutes(deps: RouteDeps): void {
  const { router, store, runtime, hub } = deps;

  router.add("GET", "/v1/sessions/:id/events", ({ params, query }) => {
    const rec = sessionRecord(deps, params.id as string);
    const order = orderOf(query, "asc");
    const types = query.list("types");
    // The created_at filters compare against processed_at, so queued events never match one.
    const inRange = timeFilter<FakeEvent>(query, (event) => event.processed_at);
    const filtered = rec.events.filter((event) => (types.length === 0 || types.includes(event.type)) && inRange(event));
    const items = order === "asc" ? filtered : [...filtered].reverse();
    return { body: paginate(items, (event) => store.seqOf(event), order, query, { defaultLimit: MAX_PAGE_SIZE }) };
  });

  router.add("POST", "/v1/sessions/:id/events", ({ params, body }) => {
    const rec = sessionRecord(deps, params.id as string);
    if (rec.wire.archived_at) throw conflict(`Session ${rec.wire.id} is archived and read-only`);
    if (rec.wire.status === "terminated") throw conflict(`Session ${rec.wire.id} is terminated`);
    const env = store.environments.get(rec.wire.environment_id as string);
    const selfHosted = (env?.config as JsonObject | undefined)?.type === "self_hosted";
    return { body: { data: runtime.send(rec, requireObject(body), selfHosted) } };
  });

  router.add("GET", "/v1/sessions/:id/events/stream", ({ params, query, res, requestId }) => {
    const rec = sessionRecord(deps, params.id as string);
    hub.open(rec.wire.id as string, res, requestId, new Set(query.list("event_deltas")));
    return { stream: true };
  });
}
