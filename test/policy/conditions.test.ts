// Tool globs, time windows (midnight wrap, days, time zones) and counters, table-driven.
import { describe, expect, it } from "vitest";
import type { TenantPolicyInput } from "../../src/policy/document.js";
import { parseRfc3339 } from "../../src/policy/time.js";
import { fires, makeInput } from "./helpers.js";

type When = TenantPolicyInput["rules"][number]["when"];

describe("tool conditions", () => {
  const cases: [string, When["tool"], string, boolean][] = [
    ["exact name", "vargate_transfer", "vargate_transfer", true],
    ["exact name, other tool", "vargate_transfer", "vargate_refund", false],
    ["prefix glob", "vargate_send_*", "vargate_send_email", true],
    ["prefix glob, other tool", "vargate_send_*", "vargate_read_email", false],
    ["glob across MCP segments", "mcp__*__write", "mcp__files__write", true],
    ["character class", "vargate_[st]*", "vargate_transfer", true],
    ["brace alternatives", "vargate_{transfer,refund}", "vargate_refund", true],
    ["list, any glob", ["bash", "vargate_send_*"], "vargate_send_sms", true],
    ["list, no glob", ["bash", "vargate_send_*"], "vargate_transfer", false],
    ["star matches everything", "*", "anything_at_all", true],
  ];
  it.each(cases)("%s", (_, tool, name, expected) => {
    expect(fires({ tool }, makeInput({ tool: name }))).toBe(expected);
  });
});

describe("time conditions", () => {
  // 2026-04-15 is a Wednesday.
  const cases: [string, NonNullable<When["time"]>, string, boolean][] = [
    ["inside a day window", { after: "09:00", before: "18:00" }, "2026-04-15T12:00:00Z", true],
    ["after is inclusive", { after: "09:00", before: "18:00" }, "2026-04-15T09:00:00Z", true],
    ["before is exclusive", { after: "09:00", before: "18:00" }, "2026-04-15T18:00:00Z", false],
    ["one minute before the end", { after: "09:00", before: "18:00" }, "2026-04-15T17:59:59Z", true],
    ["outside a day window", { after: "09:00", before: "18:00" }, "2026-04-15T08:59:00Z", false],
    ["wrapping midnight, late evening", { after: "22:00", before: "06:00" }, "2026-04-15T23:30:00Z", true],
    ["wrapping midnight, early morning", { after: "22:00", before: "06:00" }, "2026-04-15T05:59:00Z", true],
    ["wrapping midnight, at the end", { after: "22:00", before: "06:00" }, "2026-04-15T06:00:00Z", false],
    ["wrapping midnight, midday", { after: "22:00", before: "06:00" }, "2026-04-15T12:00:00Z", false],
    ["only after", { after: "18:00" }, "2026-04-15T23:59:00Z", true],
    ["only after, before it", { after: "18:00" }, "2026-04-15T17:00:00Z", false],
    ["only before", { before: "09:00" }, "2026-04-15T00:00:00Z", true],
    ["only before, after it", { before: "09:00" }, "2026-04-15T09:00:00Z", false],
    ["days match", { days: ["wed"] }, "2026-04-15T12:00:00Z", true],
    ["days do not match", { days: ["sat", "sun"] }, "2026-04-15T12:00:00Z", false],
    ["weekend", { days: ["sat", "sun"] }, "2026-04-18T12:00:00Z", true],
    [
      "days and window",
      { after: "09:00", before: "18:00", days: ["mon", "tue", "wed", "thu", "fri"] },
      "2026-04-15T10:00:00Z",
      true,
    ],
    [
      "days and window, weekend",
      { after: "09:00", before: "18:00", days: ["mon", "tue", "wed", "thu", "fri"] },
      "2026-04-18T10:00:00Z",
      false,
    ],
    // Days are the local calendar day of the instant: 02:00 Saturday is a Saturday, even in a window opened Friday.
    [
      "wrapped window checks the day of the instant",
      { after: "22:00", before: "06:00", days: ["fri"] },
      "2026-04-18T02:00:00Z",
      false,
    ],
    [
      "wrapped window on the named day",
      { after: "22:00", before: "06:00", days: ["sat"] },
      "2026-04-18T02:00:00Z",
      true,
    ],
    // Time zones: Berlin is UTC+2 in April (CEST), UTC+1 in January (CET).
    [
      "time zone shifts the clock",
      { after: "09:00", before: "18:00", timezone: "Europe/Berlin" },
      "2026-04-15T07:30:00Z",
      true,
    ],
    [
      "time zone, outside",
      { after: "09:00", before: "18:00", timezone: "Europe/Berlin" },
      "2026-04-15T16:30:00Z",
      false,
    ],
    [
      "time zone in winter",
      { after: "09:00", before: "18:00", timezone: "Europe/Berlin" },
      "2026-01-14T07:30:00Z",
      false,
    ],
    ["time zone moves the day", { days: ["thu"], timezone: "Asia/Tokyo" }, "2026-04-15T20:00:00Z", true],
    ["time zone moves the day back", { days: ["tue"], timezone: "America/Los_Angeles" }, "2026-04-15T03:00:00Z", true],
    ["a half-hour zone", { after: "17:00", before: "18:00", timezone: "Asia/Kolkata" }, "2026-04-15T11:45:00Z", true],
    ["an offset timestamp is the same instant", { after: "09:00", before: "18:00" }, "2026-04-15T15:30:00+05:00", true],
    ["an offset timestamp, converted to UTC", { after: "09:00", before: "18:00" }, "2026-04-15T13:30:00+05:00", false],
    ["explicit UTC", { after: "09:00", before: "18:00", timezone: "UTC" }, "2026-04-15T12:00:00Z", true],
  ];
  it.each(cases)("%s", (_, time, now, expected) => {
    expect(fires({ time }, makeInput({ now }))).toBe(expected);
  });

  it("fails closed when now is not a timestamp and a time rule needs it", () => {
    expect(() => fires({ time: { after: "09:00" } }, makeInput({ now: "2026-02-30T10:00:00Z" }))).toThrow(
      /now must be an RFC 3339 timestamp/,
    );
  });
});

describe("parseRfc3339", () => {
  it.each([
    ["2026-04-15T12:00:00Z", Date.UTC(2026, 3, 15, 12)],
    ["2026-04-15t12:00:00z", Date.UTC(2026, 3, 15, 12)],
    ["2026-04-15T12:00:00.123Z", Date.UTC(2026, 3, 15, 12, 0, 0, 123)],
    ["2026-04-15T12:00:00.123456789Z", Date.UTC(2026, 3, 15, 12, 0, 0, 123)],
    ["2026-04-15T14:00:00+02:00", Date.UTC(2026, 3, 15, 12)],
    ["2026-04-15T07:00:00-05:00", Date.UTC(2026, 3, 15, 12)],
    ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29)],
  ])("parses %s", (value, expected) => {
    expect(parseRfc3339(value)).toBe(expected);
  });

  it.each([
    "2026-04-15",
    "2026-04-15T12:00:00",
    "2026-04-15 12:00:00Z",
    "2026-02-30T00:00:00Z",
    "2025-02-29T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-04-15T24:00:00Z",
    "2026-04-15T12:60:00Z",
    "2026-04-15T12:00:00+25:00",
    "yesterday",
  ])("refuses %s", (value) => {
    expect(parseRfc3339(value)).toBeNull();
  });

  // The parser reads fields by position; this oracle is the straightforward version (captures, a calendar check
  // through Date, Date.parse), and both must agree on every kind of timestamp, valid or not.
  function oracle(value: string): number | null {
    const match =
      /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/.exec(value);
    if (!match) return null;
    const [, y, mo, d, h, mi, s, , oh, om] = match.map(Number);
    const date = new Date(0);
    date.setUTCFullYear(y as number, mo as number, 0);
    const days = date.getUTCDate();
    if ((mo as number) < 1 || (mo as number) > 12 || (d as number) < 1 || (d as number) > days) return null;
    if ((h as number) > 23 || (mi as number) > 59 || (s as number) > 59) return null;
    if (match[7] !== undefined && ((oh as number) > 23 || (om as number) > 59)) return null;
    const ms = Date.parse(value.toUpperCase());
    return Number.isNaN(ms) ? null : ms;
  }

  it("agrees with Date.parse on 20,000 generated timestamps, valid and invalid", () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pad = (n: number, width: number) => String(n).padStart(width, "0");
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const year = [0, 4, 99, 100, 400, 1900, 1970, 2000, 2024, 2026, 2100, 9999][random(12)] as number;
      const fraction = ["", ".5", ".05", ".123", ".1239", ".999999999", ".000000001"][random(7)] as string;
      const zone = ["Z", "z", "+00:00", "-00:00", "+02:00", "-05:30", "+23:59", "-23:59", "+24:00", "+01:60"][
        random(10)
      ] as string;
      const value =
        `${pad(year + random(3), 4)}-${pad(random(14), 2)}-${pad(random(33), 2)}${random(2) ? "T" : "t"}` +
        `${pad(random(25), 2)}:${pad(random(61), 2)}:${pad(random(61), 2)}${fraction}${zone}`;
      const expected = oracle(value);
      expect(parseRfc3339(value), value).toBe(expected);
      if (expected !== null) valid += 1;
    }
    // Both kinds were generated in numbers.
    expect(valid).toBeGreaterThan(2_000);
    expect(valid).toBeLessThan(18_000);
  });
});

describe("counter conditions", () => {
  const cases: [string, NonNullable<When["counters"]>[number], Record<string, number>, boolean][] = [
    ["no earlier calls", { scope: "session", op: "gte", value: 3 }, {}, false],
    ["the current tool's count", { scope: "session", op: "gte", value: 3 }, { vargate_transfer: 3 }, true],
    ["below the limit", { scope: "session", op: "gte", value: 3 }, { vargate_transfer: 2 }, false],
    ["other tools do not count by default", { scope: "session", op: "gte", value: 3 }, { vargate_refund: 9 }, false],
    ["gt", { scope: "session", op: "gt", value: 3 }, { vargate_transfer: 3 }, false],
    ["lt", { scope: "session", op: "lt", value: 1 }, {}, true],
    ["lte", { scope: "session", op: "lte", value: 1 }, { vargate_transfer: 1 }, true],
    ["equals", { scope: "session", op: "equals", value: 0 }, {}, true],
    [
      "a tool glob sums every matching tool",
      { scope: "session", tool: "vargate_*", op: "gte", value: 5 },
      { vargate_transfer: 2, vargate_refund: 3, bash: 10 },
      true,
    ],
    [
      "a tool glob excludes the others",
      { scope: "session", tool: "vargate_*", op: "gte", value: 6 },
      { vargate_transfer: 2, vargate_refund: 3, bash: 10 },
      false,
    ],
    [
      "a list of globs",
      { scope: "session", tool: ["bash", "vargate_refund"], op: "equals", value: 13 },
      { vargate_transfer: 2, vargate_refund: 3, bash: 10 },
      true,
    ],
    [
      "a glob naming another tool",
      { scope: "session", tool: "vargate_refund", op: "gte", value: 1 },
      { vargate_transfer: 5 },
      false,
    ],
  ];
  it.each(cases)("%s", (_, counter, counts, expected) => {
    expect(fires({ counters: [counter] }, makeInput({ session: counts }))).toBe(expected);
  });

  it("reads the scope it names", () => {
    const counter = { scope: "agent_24h", op: "gte", value: 30 } as const;
    expect(fires({ counters: [counter] }, makeInput({ agent_24h: { vargate_transfer: 30 } }))).toBe(true);
    expect(fires({ counters: [counter] }, makeInput({ session: { vargate_transfer: 30 } }))).toBe(false);
  });

  it("ignores inherited keys: a tool named constructor has no count", () => {
    expect(
      fires({ counters: [{ scope: "session", op: "equals", value: 0 }] }, makeInput({ tool: "constructor" })),
    ).toBe(true);
  });

  it.each([
    ["negative", -1],
    ["not finite", Number.POSITIVE_INFINITY],
    ["a string", "3" as unknown as number],
  ])("fails closed on a count that is %s", (_, count) => {
    expect(() =>
      fires(
        { counters: [{ scope: "session", op: "gte", value: 1 }] },
        makeInput({ session: { vargate_transfer: count } }),
      ),
    ).toThrow(/counters\.session\["vargate_transfer"\] must be a non-negative number/);
  });
});
