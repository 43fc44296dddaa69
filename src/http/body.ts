import { ValidationError, VargateError } from "../errors.js";

/** 1 MB, the default request body limit. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * Reads a JSON body without buffering more than `maxBytes`. An empty body reads as `{}` so that schema errors
 * name the missing fields. `bytes` is the body when the adapter has already read it.
 */
export async function readJsonBody(request: Request, maxBytes: number, bytes?: Uint8Array): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes || (bytes && bytes.byteLength > maxBytes)) throw new VargateError("PAYLOAD_TOO_LARGE");

  const text = bytes ? utf8.decode(bytes) : await readLimited(request, maxBytes);
  if (text.trim() === "") return {};
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) throw new VargateError("UNSUPPORTED_MEDIA_TYPE");
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError([{ loc: ["body"], msg: "Body is not valid JSON", type: "json_invalid" }]);
  }
}

async function readLimited(request: Request, maxBytes: number): Promise<string> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new VargateError("PAYLOAD_TOO_LARGE");
    }
    chunks.push(value);
  }
  return utf8.decode(Buffer.concat(chunks));
}
