// Every input operator, table-driven: one `deny` rule with one condition, and whether it fires.
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json.js";
import type { TenantPolicyInput } from "../../src/policy/document.js";
import { decide, fires, makeInput } from "./helpers.js";

type When = TenantPolicyInput["rules"][number]["when"];
type Condition = NonNullable<When["input"]>[number];

const cases: [string, Condition, JsonObject, boolean][] = [
  // equals / not_equals: strict, deep, no coercion
  ["equals string", { field: "currency", op: "equals", value: "EUR" }, { currency: "EUR" }, true],
  ["equals other string", { field: "currency", op: "equals", value: "EUR" }, { currency: "USD" }, false],
  ["equals is case-sensitive", { field: "currency", op: "equals", value: "EUR" }, { currency: "eur" }, false],
  ["equals number", { field: "amount", op: "equals", value: 1000 }, { amount: 1000.0 }, true],
  ["equals does not coerce", { field: "amount", op: "equals", value: 1000 }, { amount: "1000" }, false],
  ["equals null", { field: "note", op: "equals", value: null }, { note: null }, true],
  ["equals null is not missing", { field: "note", op: "equals", value: null }, {}, false],
  ["equals boolean", { field: "dry_run", op: "equals", value: false }, { dry_run: false }, true],
  [
    "equals object, key order ignored",
    { field: "o", op: "equals", value: { a: 1, b: [1, 2] } },
    { o: { b: [1, 2], a: 1 } },
    true,
  ],
  ["equals object, extra key", { field: "o", op: "equals", value: { a: 1 } }, { o: { a: 1, b: 2 } }, false],
  ["equals array order matters", { field: "o", op: "equals", value: [1, 2] }, { o: [2, 1] }, false],
  ["equals missing", { field: "currency", op: "equals", value: "EUR" }, {}, false],
  ["equals nested path", { field: "to.country", op: "equals", value: "DE" }, { to: { country: "DE" } }, true],
  [
    "equals array index path",
    { field: "items.1.sku", op: "equals", value: "B" },
    { items: [{ sku: "A" }, { sku: "B" }] },
    true,
  ],
  [
    "path past the end of an array",
    { field: "items.5.sku", op: "equals", value: "B" },
    { items: [{ sku: "B" }] },
    false,
  ],
  ["path into a primitive", { field: "to.country", op: "equals", value: "DE" }, { to: "DE" }, false],
  ["inherited keys are not fields", { field: "constructor", op: "exists" }, {}, false],
  ["not_equals different", { field: "currency", op: "not_equals", value: "EUR" }, { currency: "USD" }, true],
  ["not_equals same", { field: "currency", op: "not_equals", value: "EUR" }, { currency: "EUR" }, false],
  ["not_equals missing (negation of equals)", { field: "currency", op: "not_equals", value: "EUR" }, {}, true],
  // in / not_in
  ["in listed", { field: "currency", op: "in", value: ["EUR", "USD"] }, { currency: "USD" }, true],
  ["in not listed", { field: "currency", op: "in", value: ["EUR", "USD"] }, { currency: "GBP" }, false],
  ["in does not coerce", { field: "code", op: "in", value: [1, 2] }, { code: "1" }, false],
  ["in with null", { field: "code", op: "in", value: [null] }, { code: null }, true],
  ["in on a list value does not match", { field: "code", op: "in", value: ["a"] }, { code: ["a"] }, false],
  ["in missing", { field: "currency", op: "in", value: ["EUR"] }, {}, false],
  ["not_in not listed", { field: "currency", op: "not_in", value: ["EUR"] }, { currency: "GBP" }, true],
  ["not_in listed", { field: "currency", op: "not_in", value: ["EUR"] }, { currency: "EUR" }, false],
  ["not_in missing (negation of in)", { field: "currency", op: "not_in", value: ["EUR"] }, {}, true],
  // numeric comparisons: numbers only
  ["gt above", { field: "amount", op: "gt", value: 1000 }, { amount: 1000.01 }, true],
  ["gt equal", { field: "amount", op: "gt", value: 1000 }, { amount: 1000 }, false],
  ["gte equal", { field: "amount", op: "gte", value: 1000 }, { amount: 1000 }, true],
  ["gte below", { field: "amount", op: "gte", value: 1000 }, { amount: 999 }, false],
  ["lt below", { field: "amount", op: "lt", value: 0 }, { amount: -5 }, true],
  ["lt equal", { field: "amount", op: "lt", value: 0 }, { amount: 0 }, false],
  ["lte equal", { field: "amount", op: "lte", value: 10 }, { amount: 10 }, true],
  ["lte above", { field: "amount", op: "lte", value: 10 }, { amount: 11 }, false],
  ["gt on a numeric string does not match", { field: "amount", op: "gt", value: 1000 }, { amount: "5000" }, false],
  ["gt on a boolean does not match", { field: "amount", op: "gt", value: 0 }, { amount: true }, false],
  ["lt on null does not match", { field: "amount", op: "lt", value: 10 }, { amount: null }, false],
  ["lt on missing does not match", { field: "amount", op: "lt", value: 10 }, {}, false],
  // matches: strings only
  ["matches", { field: "subject", op: "matches", value: "\\burgent\\b" }, { subject: "very urgent now" }, true],
  ["matches no match", { field: "subject", op: "matches", value: "\\burgent\\b" }, { subject: "urgently" }, false],
  ["matches is case-sensitive", { field: "subject", op: "matches", value: "urgent" }, { subject: "URGENT" }, false],
  [
    "matches with flag i",
    { field: "subject", op: "matches", value: "urgent", flags: "i" },
    { subject: "URGENT" },
    true,
  ],
  [
    "matches anchored",
    { field: "iban", op: "matches", value: "^DE\\d{20}$" },
    { iban: "DE89370400440532013000" },
    true,
  ],
  ["matches on a number does not match", { field: "code", op: "matches", value: "^1" }, { code: 123 }, false],
  ["matches on missing does not match", { field: "subject", op: "matches", value: "." }, {}, false],
  // exists / not_exists
  ["exists present", { field: "cc", op: "exists" }, { cc: [] }, true],
  ["exists empty string", { field: "cc", op: "exists" }, { cc: "" }, true],
  ["exists null", { field: "cc", op: "exists" }, { cc: null }, false],
  ["exists missing", { field: "cc", op: "exists" }, {}, false],
  ["not_exists missing", { field: "cc", op: "not_exists" }, {}, true],
  ["not_exists null", { field: "cc", op: "not_exists" }, { cc: null }, true],
  ["not_exists present", { field: "cc", op: "not_exists" }, { cc: "x" }, false],
];

describe("input operators", () => {
  it.each(cases)("%s", (_, condition, input, expected) => {
    expect(fires({ input: [condition] }, makeInput({ input }))).toBe(expected);
  });

  it("requires every condition of a rule to hold", () => {
    const when: When = {
      input: [
        { field: "amount", op: "gt", value: 1000 },
        { field: "currency", op: "equals", value: "EUR" },
      ],
    };
    expect(fires(when, makeInput({ input: { amount: 5000, currency: "EUR" } }))).toBe(true);
    expect(fires(when, makeInput({ input: { amount: 5000, currency: "USD" } }))).toBe(false);
    expect(fires(when, makeInput({ input: { amount: 50, currency: "EUR" } }))).toBe(false);
  });

  it("matches every call with an empty when", () => {
    expect(fires({}, makeInput())).toBe(true);
    expect(fires({}, makeInput({ tool: "other", input: { x: 1 } }))).toBe(true);
  });
});

const domains = ["acme.com", "acme.de"];

// [description, field value, email_domain_in fires (restrictive), email_domain_not_in fires (restrictive)]
const restrictiveEmail: [string, JsonObject, boolean, boolean][] = [
  ["internal address", { to: "bob@acme.com" }, true, false],
  ["subdomain of a listed domain", { to: "bob@eu.acme.com" }, true, false],
  ["domain case does not matter", { to: "Bob@ACME.com" }, true, false],
  ["external address", { to: "eve@rival.com" }, false, true],
  ["a suffix is not a subdomain", { to: "eve@notacme.com" }, false, true],
  ["list, all internal", { to: ["a@acme.com", "b@acme.de"] }, true, false],
  ["list, one external", { to: ["a@acme.com", "eve@rival.com"] }, true, true],
  ["list, all external", { to: ["eve@rival.com"] }, false, true],
  ["empty list", { to: [] }, false, false],
  ["missing field fails closed", {}, true, true],
  ["null fails closed", { to: null }, true, true],
  ["invalid address fails closed", { to: "not an address" }, true, true],
  ["display-name form is not accepted", { to: "Bob <bob@acme.com>" }, true, true],
  ["comma-joined addresses are not accepted", { to: "a@acme.com, eve@rival.com" }, true, true],
  ["a number fails closed", { to: 42 }, true, true],
  ["an invalid entry in a list fails closed", { to: ["a@acme.com", 7] }, true, true],
];

describe("email domain operators", () => {
  describe("in deny and requires_human rules: any address, failing closed", () => {
    it.each(restrictiveEmail)("%s", (_, input, whenIn, whenNotIn) => {
      expect(fires({ input: [{ field: "to", op: "email_domain_in", value: domains }] }, makeInput({ input }))).toBe(
        whenIn,
      );
      expect(fires({ input: [{ field: "to", op: "email_domain_not_in", value: domains }] }, makeInput({ input }))).toBe(
        whenNotIn,
      );
    });
  });

  // In allow rules the same conditions need EVERY address to qualify, and an invalid or missing one does not.
  const allowEmail: [string, JsonObject, boolean, boolean][] = [
    ["internal address", { to: "bob@acme.com" }, true, false],
    ["external address", { to: "eve@rival.com" }, false, true],
    ["list, all internal", { to: ["a@acme.com", "b@eu.acme.de"] }, true, false],
    ["list, one external", { to: ["a@acme.com", "eve@rival.com"] }, false, false],
    ["list, all external", { to: ["eve@rival.com", "x@other.org"] }, false, true],
    ["empty list", { to: [] }, false, false],
    ["missing field", {}, false, false],
    ["invalid address", { to: "nope" }, false, false],
  ];

  it.each(allowEmail)("in allow rules (default_effect deny): %s", (_, input, whenIn, whenNotIn) => {
    const allowIf = (op: "email_domain_in" | "email_domain_not_in") =>
      decide(
        {
          default_effect: "deny",
          rules: [{ id: "ok", when: { input: [{ field: "to", op, value: domains }] }, effect: "allow" }],
        },
        makeInput({ input }),
      ).decision === "allow";
    expect(allowIf("email_domain_in")).toBe(whenIn);
    expect(allowIf("email_domain_not_in")).toBe(whenNotIn);
  });

  it("lets an exists condition guard an optional field", () => {
    const when: When = {
      input: [
        { field: "cc", op: "exists" },
        { field: "cc", op: "email_domain_not_in", value: domains },
      ],
    };
    expect(fires(when, makeInput({ input: {} }))).toBe(false);
    expect(fires(when, makeInput({ input: { cc: ["eve@rival.com"] } }))).toBe(true);
  });
});
