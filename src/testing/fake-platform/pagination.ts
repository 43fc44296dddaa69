import { badRequest } from "./errors.js";
import type { Query } from "./http.js";

/** Largest `limit` any list endpoint accepts. */
export const MAX_PAGE_SIZE = 1000;

interface Cursor {
  /** The sequence key of the item the page is relative to. */
  k: number;
  /** `n`: items after `k` in the requested order; `p`: items before it. */
  d: "n" | "p";
}

const encode = (cursor: Cursor) => `page_${Buffer.from(JSON.stringify(cursor)).toString("base64url")}`;

function decode(raw: string): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(raw.replace(/^page_/, ""), "base64url").toString("utf8")) as Cursor;
    if (typeof parsed.k === "number" && (parsed.d === "n" || parsed.d === "p")) return parsed;
  } catch {
    // fall through to the 400 below
  }
  throw badRequest("page: invalid pagination cursor");
}

/** A page in the wire shape; `prev_page` is only sent by endpoints that have it (sessions). */
export interface Page<T> {
  data: T[];
  next_page: string | null;
  prev_page?: string | null;
}

/**
 * Cursor pagination over items already filtered and sorted in the requested order. Cursors name an item's
 * immutable sequence key, not an offset, so items created between two page requests never shift a page.
 */
export function paginate<T>(
  items: readonly T[],
  key: (item: T) => number,
  order: "asc" | "desc",
  query: Query,
  options: { defaultLimit: number; bidirectional?: boolean },
): Page<T> {
  const limit = Math.min(query.int("limit") ?? options.defaultLimit, MAX_PAGE_SIZE);
  const rawPage = query.str("page");
  const cursor = rawPage ? decode(rawPage) : undefined;
  // "After k in the requested order": larger keys for asc, smaller for desc.
  const isAfter = (item: T, k: number) => (order === "asc" ? key(item) > k : key(item) < k);

  let start: number;
  let end: number;
  if (!cursor) {
    start = 0;
    end = Math.min(limit, items.length);
  } else if (cursor.d === "n") {
    start = items.findIndex((item) => isAfter(item, cursor.k));
    if (start === -1) start = items.length;
    end = Math.min(start + limit, items.length);
  } else {
    end = items.findIndex((item) => isAfter(item, cursor.k) || key(item) === cursor.k);
    if (end === -1) end = items.length;
    start = Math.max(0, end - limit);
  }

  const data = items.slice(start, end);
  const first = data[0];
  const last = data[data.length - 1];
  const page: Page<T> = {
    data,
    next_page: last !== undefined && end < items.length ? encode({ k: key(last), d: "n" }) : null,
  };
  if (options.bidirectional) {
    page.prev_page = first !== undefined && start > 0 ? encode({ k: key(first), d: "p" }) : null;
  }
  return page;
}

/** The `order` query parameter, validated. */
export function orderOf(query: Query, fallback: "asc" | "desc"): "asc" | "desc" {
  const order = query.str("order");
  if (order === undefined) return fallback;
  if (order !== "asc" && order !== "desc") throw badRequest("order: must be 'asc' or 'desc'");
  return order;
}

const BOUNDS = ["gt", "gte", "lt", "lte"] as const;

/**
 * A predicate for the `created_at[gt|gte|lt|lte]` filters, applied to the timestamp `pick` returns. Items
 * without a timestamp (queued events) never match a filter.
 */
export function timeFilter<T>(query: Query, pick: (item: T) => string | null): (item: T) => boolean {
  const bounds: { op: (typeof BOUNDS)[number]; at: number }[] = [];
  for (const op of BOUNDS) {
    const raw = query.str(`created_at[${op}]`);
    if (raw === undefined) continue;
    const at = Date.parse(raw);
    if (Number.isNaN(at)) throw badRequest(`created_at[${op}]: not an RFC 3339 timestamp`);
    bounds.push({ op, at });
  }
  if (bounds.length === 0) return () => true;
  return (item) => {
    const stamp = pick(item);
    if (stamp === null) return false;
    const t = Date.parse(stamp);
    return bounds.every(({ op, at }) => {
      if (op === "gt") return t > at;
      if (op === "gte") return t >= at;
      if (op === "lt") return t < at;
      return t <= at;
    });
  };
}
