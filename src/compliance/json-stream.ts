/**
 * Splits one JSON object, read in chunks, into its top-level fields, except `timeline`, whose array is split into
 * its elements: the raw JSON text of each, for the caller to parse one at a time. Only one field or one element is
 * held at a time. The structure is checked only as far as splitting needs; `JSON.parse` checks each part.
 */
export type ExportPart =
  | { kind: "field"; key: string; text: string }
  | { kind: "timeline" }
  | { kind: "item"; text: string };

const TIMELINE = "timeline";
const QUOTE = 0x22;

export async function* splitExport(
  source: AsyncIterable<string | Uint8Array>,
  options: { items: boolean },
): AsyncGenerator<ExportPart> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let depth = 0;
  let inString = false;
  let escaped = false;
  let ended = false;
  // Top level: what comes next. In the timeline: before an element, or inside one.
  let phase: "open" | "key" | "colon" | "value" | "comma" | "timeline" | "element-start" | "element" = "open";
  let key = "";
  let capture: "key" | "field" | "item" | null = null;
  let start = 0;
  let parts: string[] = [];

  const take = (chunk: string, end: number): string => {
    parts.push(chunk.slice(start, end));
    const text = parts.join("");
    parts = [];
    capture = null;
    return text;
  };

  function* feed(chunk: string): Generator<ExportPart> {
    start = 0;
    // Where the next backslash is, searched once per chunk and again only after passing it (they are rare).
    let backslash = -1;
    for (let i = 0; i < chunk.length; i++) {
      if (inString) {
        if (escaped) {
          escaped = false;
          continue;
        }
        // Nothing inside a string but its closing quote and escapes matters: jump to the next of either. Most of
        // an export's text is inside strings.
        const quote = chunk.indexOf('"', i);
        if (backslash !== Number.POSITIVE_INFINITY && backslash < i) {
          backslash = chunk.indexOf("\\", i);
          if (backslash === -1) backslash = Number.POSITIVE_INFINITY;
        }
        if (backslash < quote || (quote === -1 && backslash !== Number.POSITIVE_INFINITY)) {
          i = backslash;
          escaped = true;
          continue;
        }
        if (quote === -1) break;
        i = quote;
        inString = false;
        if (capture === "key") {
          key = JSON.parse(take(chunk, i + 1)) as string;
          phase = "colon";
        }
        continue;
      }
      const c = chunk.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      if (ended) throw new SyntaxError("text after the export object");
      switch (phase) {
        case "open":
          if (c !== 0x7b) throw new SyntaxError("the export is not a JSON object");
          depth = 1;
          phase = "key";
          continue;
        case "key":
          if (c === 0x7d) {
            ended = true;
            continue;
          }
          if (c !== QUOTE) throw new SyntaxError("expected a field name");
          inString = true;
          capture = "key";
          start = i;
          continue;
        case "colon":
          if (c !== 0x3a) throw new SyntaxError("expected ':'");
          if (key === TIMELINE) phase = "timeline";
          else {
            phase = "value";
            capture = "field";
            start = i + 1;
          }
          continue;
        case "comma":
          if (c === 0x2c) phase = "key";
          else if (c === 0x7d) ended = true;
          else throw new SyntaxError("expected ',' or '}'");
          continue;
        case "timeline":
          if (c !== 0x5b) throw new SyntaxError("timeline is not an array");
          depth = 2;
          phase = "element-start";
          yield { kind: "timeline" };
          continue;
        case "element-start":
          if (c === 0x5d) {
            depth = 1;
            phase = "comma";
            continue;
          }
          phase = "element";
          if (options.items) {
            capture = "item";
            start = i;
          }
          break;
        default:
          break;
      }
      // Inside a field's value or a timeline element.
      if (c === QUOTE) {
        inString = true;
        continue;
      }
      if (c === 0x7b || c === 0x5b) {
        depth++;
        continue;
      }
      if (phase === "value" && depth === 1 && (c === 0x2c || c === 0x7d)) {
        yield { kind: "field", key, text: take(chunk, i) };
        if (c === 0x2c) phase = "key";
        else ended = true;
        continue;
      }
      if (phase === "element" && depth === 2 && (c === 0x2c || c === 0x5d)) {
        if (capture === "item") yield { kind: "item", text: take(chunk, i) };
        if (c === 0x2c) phase = "element-start";
        else {
          depth = 1;
          phase = "comma";
        }
        continue;
      }
      if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth < 1) throw new SyntaxError("unbalanced brackets");
      }
    }
    if (capture !== null) parts.push(chunk.slice(start));
  }

  for await (const chunk of source) {
    yield* feed(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
  }
  yield* feed(decoder.decode());
  if (!ended) throw new SyntaxError("the export ends early");
}
