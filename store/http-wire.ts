/**
 * The CouchDB HTTP wire as `HttpStore` speaks it: database URLs, document paths, `_changes` queries and error answers.
 */
import { DivanError } from "../core/errors.js";
import { redact } from "../core/redact.js";
import { assertOneChangesFilter } from "./pouch.js";
import type { ChangesOptions, Doc } from "./port.js";

/** Splits `http://u:p@host:5984/prefix/db` into the server URL and the (decoded) database name. */
export function splitDatabaseUrl(url: string): { serverUrl: string; dbName: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw new DivanError("BAD_REQUEST", `not a valid database URL: ${redact(url)}`, { cause: e });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new DivanError("BAD_REQUEST", `a database URL must be http(s): ${redact(url)}`);
  }
  const segments = parsed.pathname.split("/").filter((s) => s.length > 0);
  const last = segments.pop();
  if (last === undefined) {
    throw new DivanError("BAD_REQUEST", `the URL ${redact(url)} names no database; add /<database> to it`);
  }
  parsed.pathname = segments.length === 0 ? "/" : `/${segments.join("/")}/`;
  parsed.search = "";
  parsed.hash = "";
  return { serverUrl: parsed.toString().replace(/\/$/, ""), dbName: decodeURIComponent(last) };
}

/** URL path of a document id: `_design/` and `_local/` keep their slash, everything else is encoded. */
export function docPath(id: string): string {
  for (const prefix of ["_design/", "_local/"]) {
    if (id.startsWith(prefix)) return prefix + encodeURIComponent(id.slice(prefix.length));
  }
  return encodeURIComponent(id);
}

export interface RequestOptions {
  method?: "GET" | "PUT" | "POST" | "DELETE";
  path?: string;
  qs?: Record<string, unknown>;
  body?: unknown;
  signal?: AbortSignal;
}

export interface RawChangesAnswer {
  results: { id: string; seq: string | number; changes: { rev: string }[]; deleted?: boolean; doc?: Doc }[];
  last_seq: string | number;
  pending?: number;
}

export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/** Query string and (for the `_selector`/`_doc_ids` filters) POST body of a `_changes` request. */
export function changesQuery(options: ChangesOptions, extra: Record<string, unknown>): { qs: Record<string, unknown>; body: Record<string, unknown> | undefined } {
  assertOneChangesFilter(options);
  const qs: Record<string, unknown> = { ...extra };
  if (options.since !== undefined) qs.since = options.since;
  if (options.limit !== undefined && extra.feed === undefined) qs.limit = options.limit;
  if (options.includeDocs === true) qs.include_docs = true;
  if (options.style !== undefined) qs.style = options.style;
  if (options.descending === true && extra.feed === undefined) qs.descending = true;
  if (options.selector !== undefined) {
    qs.filter = "_selector";
    return { qs, body: { selector: options.selector } };
  }
  if (options.docIds !== undefined) {
    qs.filter = "_doc_ids";
    return { qs, body: { doc_ids: options.docIds } };
  }
  return { qs, body: undefined };
}

/** A CouchDB error answer (`{"error","reason"}` text) as the error shape `toDivanError` reads. */
export function couchError(statusCode: number | undefined, text: string): Error {
  let parsed: { error?: unknown; reason?: unknown } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // not JSON: keep the text as the reason
  }
  const reason = typeof parsed.reason === "string" ? parsed.reason : text.slice(0, 200) || `HTTP ${String(statusCode)}`;
  const err = new Error(reason) as Error & { statusCode?: number; error?: string; reason?: string };
  if (statusCode !== undefined) err.statusCode = statusCode;
  if (typeof parsed.error === "string") err.error = parsed.error;
  err.reason = reason;
  return err;
}
