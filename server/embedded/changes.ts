/**
 * `GET|POST /{db}/_changes` of the embedded server, served through PouchDB's `db.changes()`.
 *
 * `GET|POST /{db}/_changes` served through PouchDB's `db.changes()`: normal, longpoll and continuous
 * feeds; `_selector`, `_doc_ids`, `_design`, `_view` and design-document filters; heartbeats and
 * timeouts. Every live PouchDB feed is cancelled when the client goes away or the server closes.
 */
import type { Request, Response } from "express";
import { badRequest, HttpError, isObject, Query, sendJson, toCouchError } from "./http.js";
import { compileFunction } from "./validation.js";

/** Something to stop when the server closes. */
export type Stopper = () => void;

/** Keeps track of open feeds so the server can end them on close. */
export interface FeedTracker {
  /** Registers a feed's stop function; returns a function that unregisters it. */
  add(stop: Stopper): () => void;
}

type ChangesOptions = PouchDB.Core.ChangesOptions & Record<string, unknown>;
type Change = PouchDB.Core.ChangesResponseChange<object>;

/** CouchDB's default `timeout` for feeds without heartbeat (ms). */
const DEFAULT_TIMEOUT = 60_000;
/** Heartbeat interval used for `heartbeat=true` (ms). */
const DEFAULT_HEARTBEAT = 60_000;

/** Mango operators PouchDB's selector matcher understands. */
const OPERATORS = new Set([
  "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$exists", "$type", "$in", "$nin", "$size", "$mod", "$regex",
  "$elemMatch", "$allMatch", "$keyMapMatch", "$all", "$and", "$or", "$nor", "$not",
]);

/**
 * Checks a Mango selector before a feed starts: PouchDB only notices an unknown operator or a
 * malformed combinator when a document is matched, which for a live feed is after the 200 was sent.
 */
export function checkSelector(selector: unknown, depth = 0): void {
  if (depth > 64) throw badRequest("Selector is nested too deeply");
  if (Array.isArray(selector)) {
    for (const s of selector) checkSelector(s, depth + 1);
    return;
  }
  if (!isObject(selector)) return;
  for (const [key, value] of Object.entries(selector)) {
    if (key.startsWith("$")) {
      if (!OPERATORS.has(key)) throw badRequest(`Invalid operator in selector: ${key.slice(0, 50)}`);
      if ((key === "$and" || key === "$or" || key === "$nor" || key === "$in" || key === "$nin" || key === "$all") && !Array.isArray(value)) {
        throw badRequest(`Selector operator ${key} needs an array`);
      }
      if ((key === "$and" || key === "$or" || key === "$nor") && !(value as unknown[]).every(isObject)) {
        throw badRequest(`Selector operator ${key} needs an array of selectors`);
      }
      if ((key === "$not" || key === "$elemMatch" || key === "$allMatch" || key === "$keyMapMatch") && !isObject(value)) {
        throw badRequest(`Selector operator ${key} needs an object`);
      }
      if (key === "$regex" && typeof value !== "string") throw badRequest("Selector operator $regex needs a string");
      if (key === "$regex") {
        try {
          new RegExp(value as string);
        } catch {
          throw badRequest("Selector operator $regex needs a valid regular expression");
        }
      }
      if (key === "$mod" && !(Array.isArray(value) && value.length === 2 && value.every((n) => Number.isInteger(n)) && value[0] !== 0)) {
        throw badRequest("Selector operator $mod needs [divisor, remainder] integers with a non-zero divisor");
      }
      if (key === "$size" && !Number.isInteger(value)) throw badRequest("Selector operator $size needs an integer");
      if (key === "$exists" && typeof value !== "boolean") throw badRequest("Selector operator $exists needs a boolean");
    }
    checkSelector(value, depth + 1);
  }
}

/** Parses `since`: an integer sequence as given by this server, `0` or `now`. */
function parseSince(q: Query): number | "now" {
  const raw = q.str("since");
  if (raw === undefined || raw === "") return 0;
  if (raw === "now") return "now";
  const unquoted = /^"(.*)"$/.exec(raw)?.[1] ?? raw;
  if (/^\d{1,15}$/.test(unquoted)) return Number(unquoted);
  throw badRequest(`Malformed sequence supplied in 'since' parameter: ${JSON.stringify(raw.slice(0, 100))}`);
}

function parseHeartbeat(q: Query): number | undefined {
  const raw = q.str("heartbeat");
  if (raw === undefined || raw === "false") return undefined;
  if (raw === "true") return DEFAULT_HEARTBEAT;
  const n = q.int("heartbeat");
  if (n === undefined || n < 1) throw badRequest("heartbeat must be a positive integer or true");
  return n;
}

function docIdsFrom(req: Request, q: Query): string[] {
  let ids: unknown = isObject(req.body) ? req.body.doc_ids : undefined;
  if (ids === undefined) ids = q.json("doc_ids");
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => typeof x === "string")) {
    throw badRequest("filter=_doc_ids needs `doc_ids`: a non-empty JSON array of strings (in the body or the query)");
  }
  return ids as string[];
}

/** Builds the PouchDB changes options for a request, loading design-document filters when named. */
async function buildOptions(req: Request, db: PouchDB.Database): Promise<ChangesOptions> {
  const q = new Query(req.query);
  const opts: ChangesOptions = { since: parseSince(q) } as ChangesOptions;
  const limit = q.int("limit");
  if (limit !== undefined) opts.limit = Math.max(limit, 1);
  if (q.bool("include_docs") === true) opts.include_docs = true;
  if (q.bool("conflicts") === true) opts.conflicts = true;
  if (q.bool("attachments") === true) opts.attachments = true;
  if (q.bool("descending") === true) opts.descending = true;
  const style = q.str("style");
  if (style !== undefined) {
    if (style !== "all_docs" && style !== "main_only") throw badRequest(`Invalid style: ${JSON.stringify(style.slice(0, 100))}`);
    if (style === "all_docs") opts.style = "all_docs";
  }
  const bodySelector: unknown = isObject(req.body) ? req.body.selector : undefined;
  const filter = q.str("filter");
  if (filter === undefined || filter === "") {
    if (bodySelector !== undefined) throw badRequest("A `selector` needs filter=_selector");
    if (q.has("doc_ids") || (isObject(req.body) && req.body.doc_ids !== undefined)) {
      throw badRequest("`doc_ids` needs filter=_doc_ids");
    }
    return opts;
  }
  if (filter === "_selector") {
    if (!isObject(bodySelector)) throw badRequest("filter=_selector needs a JSON object `selector` in a POST body");
    checkSelector(bodySelector);
    opts.selector = bodySelector as PouchDB.Find.Selector;
    return opts;
  }
  if (filter === "_doc_ids") {
    opts.doc_ids = docIdsFrom(req, q);
    return opts;
  }
  if (filter === "_design") {
    opts.filter = (doc: { _id?: unknown }) => typeof doc._id === "string" && doc._id.startsWith("_design/");
    return opts;
  }
  const [ddocName, fnName, ...rest] = filter === "_view" ? (q.str("view") ?? "").split("/") : filter.split("/");
  if (ddocName === undefined || ddocName === "" || fnName === undefined || fnName === "" || rest.length > 0) {
    throw badRequest(
      filter === "_view" ? "filter=_view needs view=ddoc/view" : `Unknown filter ${JSON.stringify(filter.slice(0, 100))}: use _selector, _doc_ids, _design, _view or ddoc/filter`,
    );
  }
  let ddoc: Record<string, unknown>;
  try {
    ddoc = (await db.get(`_design/${ddocName}`)) as unknown as Record<string, unknown>;
  } catch (e) {
    if (toCouchError(e).status === 404) throw new HttpError(404, "not_found", `missing design document _design/${ddocName}`);
    throw e;
  }
  const queryParams = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, Array.isArray(v) ? v[v.length - 1] : v]));
  if (filter === "_view") {
    const views = ddoc.views;
    const view: unknown = isObject(views) ? views[fnName] : undefined;
    const map: unknown = isObject(view) ? view.map : undefined;
    if (typeof map !== "string") throw new HttpError(404, "not_found", `missing json key: ${fnName}`);
    const compiled = compileFunction(
      `function (doc, emitter) { var emitted = false; var emit = function () { emitted = true; }; (${map}\n)(doc); return emitted; }`,
      `view ${ddocName}/${fnName}`,
    );
    opts.filter = (doc: unknown) => safeCall(compiled, [doc]);
    return opts;
  }
  const filters = ddoc.filters;
  const source: unknown = isObject(filters) ? filters[fnName] : undefined;
  if (typeof source !== "string") throw new HttpError(404, "not_found", `missing json key: ${fnName}`);
  const compiled = compileFunction(source, `filter ${ddocName}/${fnName}`);
  opts.filter = (doc: unknown) => safeCall(compiled, [doc, { query: queryParams }]);
  return opts;
}

/** Runs a user function; a throw counts as "not matching" (CouchDB skips such documents too). */
function safeCall(fn: (...args: unknown[]) => unknown, args: unknown[]): boolean {
  try {
    return Boolean(fn(...args));
  } catch {
    return false;
  }
}

function writeLine(res: Response, body: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(JSON.stringify(body) + "\n");
}

/** Serves one `_changes` request on `db`. */
export async function serveChanges(req: Request, res: Response, db: PouchDB.Database, feeds: FeedTracker): Promise<void> {
  const q = new Query(req.query);
  const feed = q.str("feed") ?? "normal";
  if (!["normal", "longpoll", "continuous", "eventsource"].includes(feed)) {
    throw badRequest(`Supported feeds are normal, longpoll and continuous, not ${JSON.stringify(feed.slice(0, 100))}`);
  }
  if (feed === "eventsource") throw badRequest("feed=eventsource is not supported by the embedded server");
  const opts = await buildOptions(req, db);
  const heartbeat = parseHeartbeat(q);
  const timeoutParam = q.int("timeout");
  if (feed !== "normal" && opts.descending === true) throw badRequest("descending is only supported with feed=normal");

  if (feed === "normal") {
    const result = await db.changes(opts);
    sendJson(res, 200, result);
    return;
  }

  if (feed === "longpoll") {
    const first = await db.changes(opts);
    if (first.results.length > 0) {
      sendJson(res, 200, first);
      return;
    }
    opts.since = first.last_seq as number;
  }

  // Live part (longpoll waiting for its first change, or continuous).
  res.status(200);
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Cache-Control", "must-revalidate");
  res.flushHeaders();
  // The limit is enforced here: PouchDB's live feed does not stop after `limit` changes.
  const limit = typeof opts.limit === "number" ? opts.limit : undefined;
  const liveOpts: ChangesOptions = { ...opts, live: true, return_docs: false } as ChangesOptions;
  delete liveOpts.limit;
  const live = db.changes(liveOpts);
  let sent = 0;
  let lastSeq: string | number = opts.since ?? 0;
  let done = false;
  const timers: NodeJS.Timeout[] = [];
  const finish = (tail: unknown): void => {
    if (done) return;
    done = true;
    for (const t of timers) clearTimeout(t);
    live.cancel();
    unregister();
    if (tail !== undefined) writeLine(res, tail);
    if (!res.writableEnded) res.end();
  };
  const unregister = feeds.add(() => finish(undefined));
  res.on("close", () => finish(undefined));
  if (res.destroyed || req.socket.destroyed) finish(undefined);
  if (heartbeat !== undefined) {
    const beat = setInterval(() => {
      if (!res.writableEnded && !res.destroyed) res.write("\n");
    }, heartbeat);
    timers.push(beat);
  }
  const timeout = heartbeat !== undefined && timeoutParam === undefined ? undefined : (timeoutParam ?? DEFAULT_TIMEOUT);
  if (timeout !== undefined) {
    timers.push(
      setTimeout(() => {
        finish(feed === "longpoll" ? { results: [], last_seq: lastSeq } : { last_seq: lastSeq });
      }, timeout),
    );
  }
  live.on("change", (change: Change) => {
    if (done) return;
    lastSeq = change.seq;
    if (feed === "longpoll") {
      finish({ results: [change], last_seq: change.seq });
      return;
    }
    writeLine(res, change);
    sent += 1;
    if (limit !== undefined && sent >= limit) finish({ last_seq: change.seq });
  });
  live.on("complete", (info: { last_seq?: string | number } | undefined) => {
    if (info?.last_seq !== undefined) lastSeq = info.last_seq;
    finish(feed === "longpoll" ? { results: [], last_seq: lastSeq } : { last_seq: lastSeq });
  });
  live.on("error", (e: unknown) => {
    // Headers are sent: report the error as the last line and end the feed.
    finish(toCouchError(e).body);
  });
}
