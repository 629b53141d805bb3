/**
 * What the embedded server's route modules share: the context every module registers its routes with, and the
 * CouchDB rules several resources apply (document ids, query options, revisions from the request).
 */
import { randomUUID } from "node:crypto";
import type { Express, Request, RequestHandler } from "express";
import type { FeedTracker } from "../changes.js";
import { badRequest, HttpError, isObject, objectBody, Query, toCouchError } from "../http.js";
import type { DbRegistry } from "../registry.js";
import type { Validator } from "../validation.js";

/** What a route module needs: the application to register on and the server around it. */
export interface RouteContext {
  readonly app: Express;
  readonly registry: DbRegistry;
  readonly feeds: FeedTracker;
  readonly validator: Validator;
  /** Server uuid reported by `GET /`. */
  readonly uuid: string;
  /** Parses a JSON body. */
  readonly json: RequestHandler;
  /** Reads a raw body (attachments). */
  readonly raw: RequestHandler;
  /** The database the request names (`:db`); 404 when there is none. */
  db(req: Request): { name: string; db: PouchDB.Database };
}

export type Doc = Record<string, unknown>;

export function newId(): string {
  return randomUUID().replace(/-/g, "");
}

export function param(req: Request, name: string): string {
  const v: unknown = (req.params as Record<string, unknown>)[name];
  if (typeof v !== "string") throw badRequest(`Missing path segment ${name}`);
  return v;
}

/** A doc id or key that must be a string. */
export function stringOrUndefined(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw badRequest(`${name} must be a JSON string`);
  return v;
}

/** PouchDB per-document result → CouchDB's `{ id, rev }` or `{ id, error, reason }`. */
export function bulkResult(r: unknown, fallbackId: unknown): Record<string, unknown> {
  if (isObject(r) && (r.error !== undefined || r.status !== undefined) && r.ok !== true) {
    const { status, body } = toCouchError(r);
    const id = typeof r.id === "string" ? r.id : fallbackId;
    return { id, ...(typeof r.rev === "string" ? { rev: r.rev } : {}), error: body.error, reason: body.reason, status };
  }
  if (isObject(r)) return { ok: true, id: r.id, rev: r.rev };
  return { id: fallbackId, error: "unknown_error", reason: "no result" };
}

/** CouchDB's rule for document ids: a non-empty string, `_` only for `_design/` and `_local/`. */
export function checkDocId(id: unknown): void {
  if (id === undefined) return;
  if (typeof id !== "string" || id === "") throw new HttpError(400, "illegal_docid", "Document id must be a non-empty string");
  if (id.startsWith("_") && !id.startsWith("_design/") && !id.startsWith("_local/")) {
    throw new HttpError(400, "illegal_docid", "Only reserved document ids may start with underscore.");
  }
}

/**
 * The revisions of `revs` that exist in `id`'s revision tree. PouchDB's `latest` option throws an
 * uncaught exception (inside a storage callback, fatal to the process) for a revision it does not
 * know, so `latest` is only ever passed with known revisions.
 */
export async function knownRevs(db: PouchDB.Database, id: string, revs: string[]): Promise<Set<string>> {
  if (revs.length === 0) return new Set();
  const diff = (await db.revsDiff({ [id]: revs })) as Record<string, { missing?: string[] } | undefined>;
  const missing = new Set(diff[id]?.missing ?? []);
  return new Set(revs.filter((r) => !missing.has(r)));
}

/**
 * The ids among `docs` that CouchDB refuses with 409 although PouchDB would write them: an edit naming a
 * revision of a deleted document (PouchDB revives it from its tombstone; CouchDB re-creates a deleted
 * document only from a write without `_rev`).
 */
export async function editsOfDeleted(db: PouchDB.Database, docs: readonly Doc[]): Promise<Set<string>> {
  const ids = new Set(docs.flatMap((d) => (typeof d._rev === "string" && typeof d._id === "string" && !d._id.startsWith("_local/") ? [d._id] : [])));
  const deleted = new Set<string>();
  // One get per id, not `allDocs({ keys })`: PouchDB answers `keys` with a whole `_all_docs` query per key. The get
  // of a deleted document fails with reason `deleted`, that of one that never existed with `missing`.
  await Promise.all(
    [...ids].map((id) =>
      db.get(id).then(
        () => undefined,
        (e: unknown) => {
          if (!isObject(e) || e.status !== 404) throw e;
          if (e.reason === "deleted") deleted.add(id);
        },
      ),
    ),
  );
  return deleted;
}

/**
 * `_all_docs` as PouchDB answers it, with `keys` read by one `get` per key: PouchDB answers `keys` with a whole
 * `_all_docs` query (a read lock and an iterator) per key. Rows and their order are PouchDB's own: `skip`, `limit`
 * and `descending` apply to the keys; a missing key is `{ key, error: "not_found" }`; a deleted document, a `_local/`
 * key and the options this path does not take (`attachments`, `update_seq`) are answered by PouchDB itself.
 */
export async function allDocs(db: PouchDB.Database, opts: Record<string, unknown>): Promise<unknown> {
  const keys = opts.keys;
  if (!Array.isArray(keys) || opts.attachments === true || opts.update_seq === true) return db.allDocs(opts);
  const skip = typeof opts.skip === "number" ? opts.skip : 0;
  let picked = (keys as string[]).slice(skip, typeof opts.limit === "number" ? skip + opts.limit : undefined);
  if (picked.length === 0) return db.allDocs(opts);
  if (opts.descending === true) picked = picked.reverse();
  const includeDocs = opts.include_docs === true;
  const conflicts = opts.conflicts === true;
  const single: Record<string, unknown> = { ...opts };
  delete single.limit;
  delete single.skip;
  delete single.descending;
  const pouchRow = async (key: string): Promise<unknown> => ((await db.allDocs({ ...single, keys: [key] })) as { rows: unknown[] }).rows[0];
  const rows = await Promise.all(
    picked.map(async (key): Promise<unknown> => {
      if (typeof key !== "string" || key.startsWith("_local/")) return pouchRow(key);
      try {
        const doc = (await db.get(key, conflicts && includeDocs ? { conflicts: true } : {})) as Doc & { _rev: string };
        return { id: key, key, value: { rev: doc._rev }, ...(includeDocs ? { doc } : {}) };
      } catch (e) {
        if (!isObject(e) || e.status !== 404) throw e;
        return e.reason === "deleted" ? pouchRow(key) : { key, error: "not_found" };
      }
    }),
  );
  const info = await db.info();
  return { total_rows: info.doc_count, offset: 0, rows };
}

/** CouchDB's answer to an edit it refuses as a conflict. */
export function conflict(): HttpError {
  return new HttpError(409, "conflict", "Document update conflict.");
}

/** Maps errors of pouchdb-find (often plain `Error`s) to 400 unless they carry a status. */
export function findError(e: unknown): unknown {
  if (isObject(e) && typeof e.status === "number") return e;
  return badRequest(e instanceof Error ? e.message : String(e));
}

/** Query options for `_all_docs` and views from the query string and, for POST, the body. */
export function rangeOptions(req: Request, view: boolean): Record<string, unknown> {
  const q = new Query(req.query);
  const body: Record<string, unknown> = req.method === "POST" ? objectBody(req) : {};
  const pick = (name: string, alias?: string): unknown => {
    if (body[name] !== undefined) return body[name];
    if (alias !== undefined && body[alias] !== undefined) return body[alias];
    const v = q.json(name);
    if (v !== undefined) return v;
    return alias === undefined ? undefined : q.json(alias);
  };
  const opts: Record<string, unknown> = {};
  const key = pick("key");
  const keys = pick("keys");
  const startkey = pick("startkey", "start_key");
  const endkey = pick("endkey", "end_key");
  if (!view) {
    stringOrUndefined(key, "key");
    stringOrUndefined(startkey, "startkey");
    stringOrUndefined(endkey, "endkey");
    if (keys !== undefined && (!Array.isArray(keys) || !keys.every((k) => typeof k === "string"))) {
      throw badRequest("`keys` must be a JSON array of strings");
    }
  } else if (keys !== undefined && !Array.isArray(keys)) {
    throw badRequest("`keys` must be a JSON array");
  }
  if (key !== undefined) opts.key = key;
  if (keys !== undefined) opts.keys = keys;
  if (startkey !== undefined) opts.startkey = startkey;
  if (endkey !== undefined) opts.endkey = endkey;
  for (const name of ["limit", "skip", "group_level"]) {
    const v = body[name] ?? q.int(name);
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw badRequest(`${name} must be a non-negative integer`);
    opts[name] = v;
  }
  const bools = ["descending", "include_docs", "inclusive_end", "conflicts", "update_seq", "attachments"];
  if (view) bools.push("reduce", "group");
  for (const name of bools) {
    const v = body[name] ?? q.bool(name);
    if (v === undefined) continue;
    if (typeof v !== "boolean") throw badRequest(`${name} must be a boolean`);
    opts[name] = v;
  }
  if (view) {
    const stale = body.stale ?? q.str("stale") ?? body.update ?? q.str("update");
    if (stale === "ok" || stale === "false" || stale === false) opts.stale = "ok";
    else if (stale === "update_after" || stale === "lazy") opts.stale = "update_after";
  }
  return opts;
}

/** Options for reading one document. */
export function getOptions(q: Query): Record<string, unknown> {
  const opts: Record<string, unknown> = {};
  const rev = q.str("rev");
  if (rev !== undefined) opts.rev = rev;
  for (const name of ["revs", "revs_info", "conflicts", "deleted_conflicts", "attachments", "att_encoding_info", "latest", "local_seq"]) {
    const v = q.bool(name);
    if (v !== undefined) opts[name] = v;
  }
  if (q.bool("meta") === true) Object.assign(opts, { revs_info: true, conflicts: true, deleted_conflicts: true });
  const openRevs = q.str("open_revs");
  if (openRevs !== undefined) {
    if (openRevs === "all") opts.open_revs = "all";
    else {
      const parsed = q.json("open_revs");
      if (!Array.isArray(parsed) || !parsed.every((r) => typeof r === "string")) {
        throw badRequest("open_revs must be `all` or a JSON array of revision strings");
      }
      opts.open_revs = parsed;
    }
  }
  return opts;
}

export function revFrom(req: Request, body?: Doc): string | undefined {
  const q = new Query(req.query);
  const fromQuery = q.str("rev");
  if (fromQuery !== undefined) return fromQuery;
  const ifMatch = req.get("If-Match");
  if (ifMatch !== undefined && ifMatch !== "") return ifMatch.replace(/^"|"$/g, "");
  const fromBody = body?._rev;
  return typeof fromBody === "string" ? fromBody : undefined;
}

/** CouchDB's answer to a method a resource does not allow. */
export function methodNotAllowed(allowed: string): HttpError {
  return new HttpError(405, "method_not_allowed", `Only ${allowed} allowed`);
}
