/**
 * A `fetch` that a Node request listener answers in process, without a socket.
 *
 * A `fetch` answered in process by a Node request listener (such as the translating proxy's Express app):
 * the request becomes an `IncomingMessage` carrying the body, the listener writes a `ServerResponse` whose
 * output is collected, and the answer is a WHATWG `Response`. No socket, no HTTP parsing, no client stack:
 * for callers in the same process (PouchDB's HTTP adapter takes it as its `fetch` option) that want what
 * the listener answers over HTTP, at a fraction of the cost. Streaming answers (a longpoll that waits) are
 * delivered when the listener ends them.
 */
import { IncomingMessage, ServerResponse, type RequestListener } from "node:http";
import { Socket } from "node:net";

/** The part of `fetch`'s signature the in-process fetch serves. */
export type InProcessFetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** Header pairs of any `HeadersInit` (a WHATWG or node-fetch `Headers`, pairs, or a record). */
function headerPairs(init: RequestInit["headers"]): [string, string][] {
  if (init === undefined) return [];
  if (Array.isArray(init)) return init.map(([k, v]) => [String(k).toLowerCase(), String(v)]);
  const h = init as { forEach?: (f: (value: string, key: string) => void) => void };
  if (typeof h.forEach === "function") {
    const out: [string, string][] = [];
    h.forEach((value, key) => out.push([key.toLowerCase(), value]));
    return out;
  }
  return Object.entries(init as Record<string, string>).map(([k, v]) => [k.toLowerCase(), String(v)]);
}

function bodyOf(body: RequestInit["body"]): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError("The in-process fetch takes a string or byte body.");
}

/** A `fetch` whose requests `listener` answers in process (see the module documentation). */
export function inProcessFetch(listener: RequestListener): InProcessFetch {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input));
      const body = bodyOf(init.body);
      const req = new IncomingMessage(new Socket());
      req.method = (init.method ?? "GET").toUpperCase();
      req.url = url.pathname + url.search;
      const headers: Record<string, string> = { host: url.host };
      for (const [k, v] of headerPairs(init.headers)) headers[k] = v;
      if (body !== undefined) headers["content-length"] = String(body.length);
      req.headers = headers;
      if (body !== undefined) req.push(body);
      req.push(null);
      req.complete = true;

      const res = new ServerResponse(req);
      const chunks: Uint8Array[] = [];
      const write = (chunk: unknown, encoding?: unknown): boolean => {
        if (!res.headersSent) res.writeHead(res.statusCode);
        if (chunk !== undefined && chunk !== null) {
          chunks.push(typeof chunk === "string" ? new Uint8Array(Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")) : new Uint8Array(chunk as Uint8Array));
        }
        return true;
      };
      const end = (chunk?: unknown, encoding?: unknown): ServerResponse => {
        if (typeof chunk !== "function") write(chunk, encoding);
        else write(undefined);
        const answer = new Headers();
        for (const [k, v] of Object.entries(res.getHeaders())) {
          if (v === undefined) continue;
          for (const one of Array.isArray(v) ? v : [v]) answer.append(k, String(one));
        }
        const status = res.statusCode;
        const empty = req.method === "HEAD" || status === 204 || status === 304;
        const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
        resolve(new Response(empty ? null : bytes, { status, statusText: res.statusMessage, headers: answer }));
        res.emit("finish");
        res.emit("close");
        return res;
      };
      Object.assign(res, { write, end });
      try {
        listener(req, res);
      } catch (e) {
        reject(e);
      }
    });
}
