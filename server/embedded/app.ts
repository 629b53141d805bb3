/**
 * The embedded server's Express 4 application: a thin CouchDB HTTP API over PouchDB databases.
 *
 * Every route validates its input and answers CouchDB status codes and `{ error, reason }` bodies;
 * every async handler is wrapped so a rejection becomes a response, and a final error middleware
 * answers whatever escapes. No request can end the process.
 */
import { randomUUID } from "node:crypto";
import express from "express";
import type { NextFunction, Request, Response } from "express";
import { serveChanges, type FeedTracker } from "./changes.js";
import { badRequest, HttpError, isObject, objectBody, Query, route, sendJson, toCouchError } from "./http.js";
import type { DbRegistry, DbUpdate } from "./registry.js";
import { Validator } from "./validation.js";

/** What the application needs from the server around it. */
export interface AppContext {
  /** The server's databases. */
  registry: DbRegistry;
  /** Open feeds, ended on close. */
  feeds: FeedTracker;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  /** Server uuid reported by `GET /`. */
  uuid: string;
  /** Receives one line per request and per server-side failure. */
  log: (line: string) => void;
}

/** CouchDB version whose API the embedded server follows (`test/server/parity.test.ts` checks it against a real one). */
const COUCHDB_VERSION = "3.4.3";

type Doc = Record<string, unknown>;

function newId(): string {
  return randomUUID().replace(/-/g, "");
}

function param(req: Request, name: string): string {
  const v: unknown = (req.params as Record<string, unknown>)[name];
  if (typeof v !== "string") throw badRequest(`Missing path segment ${name}`);
  return v;
}

/** A doc id or key that must be a string. */
function stringOrUndefined(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw badRequest(`${name} must be a JSON string`);
  return v;
}

/** PouchDB per-document result → CouchDB's `{ id, rev }` or `{ id, error, reason }`. */
function bulkResult(r: unknown, fallbackId: unknown): Record<string, unknown> {
  if (isObject(r) && (r.error !== undefined || r.status !== undefined) && r.ok !== true) {
    const { status, body } = toCouchError(r);
    const id = typeof r.id === "string" ? r.id : fallbackId;
    return { id, ...(typeof r.rev === "string" ? { rev: r.rev } : {}), error: body.error, reason: body.reason, status };
  }
  if (isObject(r)) return { ok: true, id: r.id, rev: r.rev };
  return { id: fallbackId, error: "unknown_error", reason: "no result" };
}

/** CouchDB's rule for document ids: a non-empty string, `_` only for `_design/` and `_local/`. */
function checkDocId(id: unknown): void {
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
async function knownRevs(db: PouchDB.Database, id: string, revs: string[]): Promise<Set<string>> {
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
async function editsOfDeleted(db: PouchDB.Database, docs: readonly Doc[]): Promise<Set<string>> {
  const ids = docs.flatMap((d) => (typeof d._rev === "string" && typeof d._id === "string" && !d._id.startsWith("_local/") ? [d._id] : []));
  if (ids.length === 0) return new Set();
  const rows = (await db.allDocs({ keys: [...new Set(ids)] })).rows as { key: string; value?: { deleted?: boolean } }[];
  return new Set(rows.filter((r) => r.value?.deleted === true).map((r) => r.key));
}

/** CouchDB's answer to an edit it refuses as a conflict. */
function conflict(): HttpError {
  return new HttpError(409, "conflict", "Document update conflict.");
}

/** Maps errors of pouchdb-find (often plain `Error`s) to 400 unless they carry a status. */
function findError(e: unknown): unknown {
  if (isObject(e) && typeof e.status === "number") return e;
  return badRequest(e instanceof Error ? e.message : String(e));
}

/** Query options for `_all_docs` and views from the query string and, for POST, the body. */
function rangeOptions(req: Request, view: boolean): Record<string, unknown> {
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
function getOptions(q: Query): Record<string, unknown> {
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

function revFrom(req: Request, body?: Doc): string | undefined {
  const q = new Query(req.query);
  const fromQuery = q.str("rev");
  if (fromQuery !== undefined) return fromQuery;
  const ifMatch = req.get("If-Match");
  if (ifMatch !== undefined && ifMatch !== "") return ifMatch.replace(/^"|"$/g, "");
  const fromBody = body?._rev;
  return typeof fromBody === "string" ? fromBody : undefined;
}

/** Builds the Express application for one embedded server. */
export function createApp(ctx: AppContext): express.Express {
  const { registry, feeds, log } = ctx;
  const validator = new Validator();
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");
  app.enable("case sensitive routing");

  const json = express.json({ limit: ctx.maxBodyBytes, strict: true, type: () => true });
  const raw = express.raw({ limit: ctx.maxBodyBytes, type: () => true });

  app.use((req: Request, res: Response, next: NextFunction) => {
    res.on("finish", () => log(`${req.method} ${req.originalUrl} ${res.statusCode}`));
    next();
  });

  const db = (req: Request): { name: string; db: PouchDB.Database } => {
    const name = param(req, "db");
    return { name, db: registry.get(name) };
  };

  // ---- server-level endpoints -------------------------------------------------------------
  app.get("/", (_req, res) => {
    sendJson(res, 200, {
      couchdb: "Welcome",
      version: COUCHDB_VERSION,
      uuid: ctx.uuid,
      features: [],
      vendor: { name: "divan embedded server (PouchDB)" },
    });
  });
  app.get("/_up", (_req, res) => sendJson(res, 200, { status: "ok" }));
  app.get("/_all_dbs", (_req, res) => sendJson(res, 200, registry.all()));
  app.get("/_active_tasks", (_req, res) => sendJson(res, 200, []));
  app.get("/_session", (_req, res) =>
    sendJson(res, 200, { ok: true, userCtx: { name: null, roles: ["_admin"] }, info: { authentication_handlers: [] } }),
  );
  app.get(
    "/_uuids",
    route(async (req, res) => {
      const count = new Query(req.query).int("count") ?? 1;
      if (count > 1000) throw badRequest("count parameter too large (max 1000)");
      sendJson(res, 200, { uuids: Array.from({ length: count }, newId) });
    }),
  );
  app.all("/_db_updates", json, route(async (req, res) => serveDbUpdates(req, res, registry, feeds)));

  // ---- databases ---------------------------------------------------------------------------
  app.put(
    "/:db",
    route(async (req, res) => {
      const name = param(req, "db");
      await registry.create(name);
      sendJson(res, 201, { ok: true }, { Location: `/${encodeURIComponent(name)}` });
    }),
  );
  app.delete(
    "/:db",
    route(async (req, res) => {
      if (new Query(req.query).has("rev")) {
        throw badRequest("You tried to DELETE a database with a ?rev= parameter. Did you mean to DELETE a document instead?");
      }
      const name = param(req, "db");
      await registry.destroy(name);
      validator.forget(name);
      sendJson(res, 200, { ok: true });
    }),
  );
  app.get(
    "/:db",
    route(async (req, res) => {
      const { db: d } = db(req);
      const info = (await d.info()) as unknown as Record<string, unknown>;
      sendJson(res, 200, {
        db_name: param(req, "db"),
        doc_count: info.doc_count,
        doc_del_count: 0,
        update_seq: info.update_seq,
        purge_seq: 0,
        compact_running: false,
        sizes: { active: 0, external: 0, file: 0 },
        instance_start_time: "0",
        disk_format_version: 8,
        props: {},
        adapter: info.adapter,
      });
    }),
  );
  app.post(
    "/:db",
    json,
    route(async (req, res) => {
      const { name, db: d } = db(req);
      const doc = { ...objectBody(req) };
      if (doc._id === undefined) doc._id = newId();
      checkDocId(doc._id);
      if ((await editsOfDeleted(d, [doc])).size > 0) throw conflict();
      await validator.check(name, d, doc);
      const r = await d.put(doc as PouchDB.Core.PutDocument<object>);
      registry.touched(name);
      const batch = new Query(req.query).str("batch") === "ok";
      sendJson(res, batch ? 202 : 201, { ok: true, id: r.id, rev: r.rev }, { ETag: `"${r.rev}"` });
    }),
  );

  // ---- database-level endpoints ------------------------------------------------------------
  app.all(
    "/:db/_changes",
    json,
    route(async (req, res) => {
      if (req.method !== "GET" && req.method !== "POST" && req.method !== "HEAD") throw methodNotAllowed("GET,HEAD,POST");
      const { db: d } = db(req);
      await serveChanges(req, res, d, feeds);
    }),
  );
  app.post(
    "/:db/_bulk_docs",
    json,
    route(async (req, res) => {
      const { name, db: d } = db(req);
      const body = objectBody(req);
      const docs = body.docs;
      if (!Array.isArray(docs)) throw badRequest("POST body must include `docs` parameter.");
      if (!docs.every(isObject)) throw badRequest("Document must be a JSON object");
      const newEdits = body.new_edits ?? true;
      if (typeof newEdits !== "boolean") throw badRequest("`new_edits` must be a boolean");
      const results: (Record<string, unknown> | undefined)[] = new Array<Record<string, unknown> | undefined>(docs.length);
      const checked: { index: number; doc: Doc }[] = [];
      const deleted = newEdits ? await editsOfDeleted(d, docs as Doc[]) : new Set<string>();
      const refuse = (index: number, doc: Doc, e: unknown): void => {
        const { body: err } = toCouchError(e);
        // As CouchDB: a refused replicated write names its revision, a refused edit does not.
        results[index] = { id: doc._id, ...(!newEdits && typeof doc._rev === "string" ? { rev: doc._rev } : {}), ...err };
      };
      for (const [index, original] of (docs as Doc[]).entries()) {
        const doc = { ...original };
        if (doc._id === undefined && newEdits) doc._id = newId();
        try {
          checkDocId(doc._id);
          if (typeof doc._rev === "string" && deleted.has(String(doc._id))) throw conflict();
          checked.push({ index, doc });
        } catch (e) {
          refuse(index, doc, e);
        }
      }
      // validate_doc_update for the whole request at once (one read of the design documents).
      const refusals = await validator.checkAll(name, d, checked.map((c) => c.doc), newEdits);
      const accepted = checked.filter((c, i) => {
        const r = refusals[i];
        if (r !== undefined) refuse(c.index, c.doc, r);
        return r === undefined;
      });
      if (accepted.length > 0) {
        const written = await d.bulkDocs(
          accepted.map((a) => a.doc) as PouchDB.Core.PutDocument<object>[],
          { new_edits: newEdits } as PouchDB.Core.BulkDocsOptions,
        );
        if (newEdits) {
          accepted.forEach((a, i) => {
            const r = bulkResult(written[i], a.doc._id);
            delete r.status;
            results[a.index] = r;
          });
        } else {
          // With new_edits=false PouchDB (like CouchDB) reports only failures.
          for (const w of written as unknown[]) {
            if (!isObject(w) || w.ok === true) continue;
            const r = bulkResult(w, w.id);
            delete r.status;
            results.push(r);
          }
        }
        registry.touched(name);
      }
      const out = results.filter((r): r is Record<string, unknown> => r !== undefined);
      sendJson(res, 201, newEdits ? out : out.filter((r) => r.error !== undefined));
    }),
  );
  app.post(
    "/:db/_bulk_get",
    json,
    route(async (req, res) => {
      const { db: d } = db(req);
      const body = objectBody(req);
      const docs = body.docs;
      if (!Array.isArray(docs) || !docs.every((x) => isObject(x) && typeof x.id === "string")) {
        throw badRequest("`docs` must be a JSON array of objects with a string `id`");
      }
      const q = new Query(req.query);
      const requests = docs as { id: string; rev?: unknown }[];
      const base = { revs: q.bool("revs") ?? false, attachments: q.bool("attachments") ?? false };
      const latest = q.bool("latest") ?? false;
      // One get per request, in request order (PouchDB's bulkGet shim regroups requests by id).
      const one = async (r: { id: string; rev?: unknown }): Promise<{ id: string; docs: unknown[] }> => {
        const rev = r.rev;
        const failure = (e: unknown) => {
          const { body } = toCouchError(e);
          return { id: r.id, docs: [{ error: { id: r.id, rev: typeof rev === "string" ? rev : "undefined", ...body } }] };
        };
        try {
          if (rev !== undefined && typeof rev !== "string") throw badRequest("rev must be a string");
          if (typeof rev === "string" && latest && !(await knownRevs(d, r.id, [rev])).has(rev)) {
            throw new HttpError(404, "not_found", "missing");
          }
          const opts = { ...base, ...(typeof rev === "string" ? { rev, latest } : {}) };
          return { id: r.id, docs: [{ ok: await d.get(r.id, opts as PouchDB.Core.GetOptions) }] };
        } catch (e) {
          return failure(e);
        }
      };
      const results: { id: string; docs: unknown[] }[] = [];
      for (let i = 0; i < requests.length; i += 16) {
        results.push(...(await Promise.all(requests.slice(i, i + 16).map(one))));
      }
      sendJson(res, 200, { results });
    }),
  );
  app.all(
    "/:db/_all_docs",
    json,
    route(async (req, res) => {
      if (req.method !== "GET" && req.method !== "POST" && req.method !== "HEAD") throw methodNotAllowed("GET,HEAD,POST");
      const { db: d } = db(req);
      const r = await d.allDocs(rangeOptions(req, false));
      sendJson(res, 200, r);
    }),
  );
  app.post(
    "/:db/_revs_diff",
    json,
    route(async (req, res) => {
      const { db: d } = db(req);
      const body = objectBody(req);
      for (const revs of Object.values(body)) {
        if (!Array.isArray(revs) || !revs.every((r) => typeof r === "string")) {
          throw badRequest("_revs_diff body must map document ids to arrays of revisions");
        }
      }
      sendJson(res, 200, await d.revsDiff(body as PouchDB.Core.RevisionDiffOptions));
    }),
  );
  app.post(
    "/:db/_find",
    json,
    route(async (req, res) => {
      const { db: d } = db(req);
      const body = objectBody(req);
      if (!isObject(body.selector)) throw badRequest("_find needs a JSON object `selector`");
      const r = await d.find(body as unknown as PouchDB.Find.FindRequest<object>).catch((e: unknown) => Promise.reject(findError(e)));
      sendJson(res, 200, r);
    }),
  );
  app.post(
    "/:db/_explain",
    json,
    route(async (req, res) => {
      const { db: d } = db(req);
      const body = objectBody(req);
      if (!isObject(body.selector)) throw badRequest("_explain needs a JSON object `selector`");
      const explain = (d as unknown as { explain(r: unknown): Promise<unknown> }).explain(body);
      sendJson(res, 200, await explain.catch((e: unknown) => Promise.reject(findError(e))));
    }),
  );
  app.get(
    "/:db/_index",
    route(async (req, res) => {
      const { db: d } = db(req);
      sendJson(res, 200, await d.getIndexes());
    }),
  );
  app.post(
    "/:db/_index",
    json,
    route(async (req, res) => {
      const { name, db: d } = db(req);
      const body = objectBody(req);
      if (!isObject(body.index) || !Array.isArray(body.index.fields) || body.index.fields.length === 0) {
        throw badRequest("_index needs `index.fields`: a non-empty JSON array");
      }
      const r = await d.createIndex(body as unknown as PouchDB.Find.CreateIndexOptions).catch((e: unknown) => Promise.reject(findError(e)));
      registry.touched(name);
      sendJson(res, 200, r);
    }),
  );
  const deleteIndex = route(async (req, res) => {
    const { name, db: d } = db(req);
    const type = param(req, "type");
    if (type !== "json") throw badRequest("Only json indexes can be deleted");
    const ddoc = param(req, "ddoc");
    const ddocId = ddoc.startsWith("_design/") ? ddoc : `_design/${ddoc}`;
    const { indexes } = await d.getIndexes();
    if (!indexes.some((i) => i.ddoc === ddocId && i.name === param(req, "name"))) throw new HttpError(404, "not_found", "Index not found");
    await d
      .deleteIndex({ ddoc: ddoc.startsWith("_design/") ? ddoc : `_design/${ddoc}`, name: param(req, "name"), type } as PouchDB.Find.DeleteIndexOptions)
      .catch((e: unknown) => Promise.reject(findError(e)));
    registry.touched(name);
    sendJson(res, 200, { ok: true });
  });
  app.delete("/:db/_index/_design/:ddoc/:type/:name", (req, _res, next) => {
    (req.params as Record<string, string>).ddoc = `_design/${param(req, "ddoc")}`;
    next();
  }, deleteIndex);
  app.delete("/:db/_index/:ddoc/:type/:name", deleteIndex);
  app.post(
    "/:db/_ensure_full_commit",
    route(async (req, res) => {
      db(req);
      sendJson(res, 201, { ok: true, instance_start_time: "0" });
    }),
  );
  for (const path of ["/:db/_compact", "/:db/_compact/:ddoc", "/:db/_view_cleanup"]) {
    app.post(
      path,
      route(async (req, res) => {
        const { db: d } = db(req);
        if (path.endsWith("_view_cleanup")) await d.viewCleanup();
        else await d.compact();
        sendJson(res, 202, { ok: true });
      }),
    );
  }
  app.get("/:db/_security", route(async (req, res) => sendJson(res, 200, validator.securityOf(db(req).name))));
  app.put(
    "/:db/_security",
    json,
    route(async (req, res) => {
      validator.putSecurity(db(req).name, objectBody(req));
      sendJson(res, 200, { ok: true });
    }),
  );
  app.get("/:db/_revs_limit", route(async (req, res) => { db(req); sendJson(res, 200, 1000); }));

  // ---- views -------------------------------------------------------------------------------
  app.all(
    "/:db/_design/:ddoc/_view/:view",
    json,
    route(async (req, res) => {
      if (req.method !== "GET" && req.method !== "POST" && req.method !== "HEAD") throw methodNotAllowed("GET,HEAD,POST");
      const { db: d } = db(req);
      const fun = `${param(req, "ddoc")}/${param(req, "view")}`;
      sendJson(res, 200, await d.query(fun, rangeOptions(req, true)));
    }),
  );

  // ---- documents ---------------------------------------------------------------------------
  const readDoc = (idOf: (req: Request) => string) =>
    route(async (req, res) => {
      const { db: d } = db(req);
      const id = idOf(req);
      const q = new Query(req.query);
      const opts = getOptions(q);
      if (opts.latest === true && typeof opts.rev === "string" && opts.open_revs === undefined) {
        if (!(await knownRevs(d, id, [opts.rev])).has(opts.rev)) throw new HttpError(404, "not_found", "missing");
      }
      if (opts.latest === true && Array.isArray(opts.open_revs)) {
        const wanted = opts.open_revs as string[];
        const known = await knownRevs(d, id, wanted);
        const found = known.size === 0 ? [] : ((await d.get(id, { ...opts, open_revs: [...known] } as PouchDB.Core.GetOptions)) as unknown as unknown[]);
        sendJson(res, 200, [...found, ...wanted.filter((r) => !known.has(r)).map((r) => ({ missing: r }))]);
        return;
      }
      const doc = (await d.get(id, opts as PouchDB.Core.GetOptions)) as unknown;
      const rev = isObject(doc) && typeof doc._rev === "string" ? doc._rev : undefined;
      sendJson(res, 200, doc, rev === undefined ? {} : { ETag: `"${rev}"` });
    });
  const writeDoc = (idOf: (req: Request) => string) =>
    route(async (req, res) => {
      const { name, db: d } = db(req);
      const id = idOf(req);
      checkDocId(id);
      const doc: Doc = { ...objectBody(req), _id: id };
      const rev = revFrom(req, doc);
      if (rev !== undefined) doc._rev = rev;
      const q = new Query(req.query);
      const newEdits = q.bool("new_edits") !== false;
      if (newEdits && (await editsOfDeleted(d, [doc])).size > 0) throw conflict();
      await validator.check(name, d, doc, newEdits);
      let result: { id: string; rev: string };
      if (!newEdits) {
        if (typeof doc._rev !== "string") throw badRequest("new_edits=false needs a `_rev`");
        const [r] = await d.bulkDocs([doc as PouchDB.Core.PutDocument<object>], { new_edits: false } as PouchDB.Core.BulkDocsOptions);
        if (isObject(r) && r.ok !== true) {
          const mapped = bulkResult(r, id);
          if (mapped.error !== undefined) throw new HttpError(Number(mapped.status ?? 400), String(mapped.error), String(mapped.reason));
        }
        result = { id, rev: doc._rev };
      } else {
        const r = await d.put(doc as PouchDB.Core.PutDocument<object>);
        result = { id: r.id, rev: r.rev };
      }
      registry.touched(name);
      const status = q.str("batch") === "ok" ? 202 : 201;
      sendJson(res, status, { ok: true, ...result }, { ETag: `"${result.rev}"` });
    });
  const deleteDoc = (idOf: (req: Request) => string) =>
    route(async (req, res) => {
      const { name, db: d } = db(req);
      const id = idOf(req);
      const rev = revFrom(req);
      // As CouchDB: the document is opened first, so a deleted or missing one is 404 whatever the revision.
      await d.get(id);
      if (rev === undefined) throw conflict();
      await validator.check(name, d, { _id: id, _rev: rev, _deleted: true });
      const r = await d.remove(id, rev);
      registry.touched(name);
      sendJson(res, 200, { ok: true, id: r.id, rev: r.rev }, { ETag: `"${r.rev}"` });
    });

  const localId = (req: Request) => `_local/${param(req, "id")}`;
  const designId = (req: Request) => `_design/${param(req, "id")}`;
  const plainId = (req: Request) => param(req, "id");

  app.get("/:db/_local/:id", readDoc(localId));
  app.put("/:db/_local/:id", json, writeDoc(localId));
  app.delete("/:db/_local/:id", deleteDoc(localId));
  app.get("/:db/_design/:id", readDoc(designId));
  app.put("/:db/_design/:id", json, writeDoc(designId));
  app.delete("/:db/_design/:id", deleteDoc(designId));
  app.get("/:db/:id", readDoc(plainId));
  app.put("/:db/:id", json, writeDoc(plainId));
  app.delete("/:db/:id", deleteDoc(plainId));

  // ---- attachments ---------------------------------------------------------------------------
  const attachmentName = (req: Request): string => {
    const rest = (req.params as Record<string, string | undefined>)[0] ?? "";
    if (rest === "") throw badRequest("Missing attachment name");
    return rest;
  };
  const attachmentRoutes = (prefix: string, design: boolean) => {
    const target = (req: Request) => ({
      docId: design ? `_design/${param(req, "id")}` : param(req, "id"),
      att: attachmentName(req),
    });
    app.get(
      `${prefix}/*`,
      route(async (req, res) => {
        const { db: d } = db(req);
        const { docId, att } = target(req);
        const rev = new Query(req.query).str("rev");
        const doc = (await d.get(docId, rev === undefined ? {} : { rev })) as unknown as Doc;
        const atts = doc._attachments;
        const stub: unknown = isObject(atts) ? atts[att] : undefined;
        if (!isObject(stub)) throw new HttpError(404, "not_found", "Document is missing attachment");
        const data = (await d.getAttachment(docId, att, rev === undefined ? {} : { rev })) as unknown;
        const buf = Buffer.isBuffer(data) ? data : Buffer.from(String(data));
        res.status(200);
        res.setHeader("Content-Type", typeof stub.content_type === "string" ? stub.content_type : "application/octet-stream");
        if (typeof stub.digest === "string") res.setHeader("ETag", `"${stub.digest}"`);
        res.end(buf);
      }),
    );
    app.put(
      `${prefix}/*`,
      raw,
      route(async (req, res) => {
        const { name, db: d } = db(req);
        const { docId, att } = target(req);
        const rev = revFrom(req);
        const body: unknown = req.body;
        const data = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
        const type = req.get("Content-Type") ?? "application/octet-stream";
        let current: Doc = { _id: docId };
        if (rev !== undefined) current = (await d.get(docId, { rev }).catch(() => ({ _id: docId }))) as unknown as Doc;
        const atts = isObject(current._attachments) ? current._attachments : {};
        await validator.check(name, d, { ...current, _attachments: { ...atts, [att]: { content_type: type, data: data.toString("base64") } } });
        const r = await (rev === undefined ? d.putAttachment(docId, att, data, type) : d.putAttachment(docId, att, rev, data, type));
        registry.touched(name);
        sendJson(res, 201, { ok: true, id: r.id, rev: r.rev }, { ETag: `"${r.rev}"` });
      }),
    );
    app.delete(
      `${prefix}/*`,
      route(async (req, res) => {
        const { name, db: d } = db(req);
        const { docId, att } = target(req);
        const rev = revFrom(req);
        if (rev === undefined) throw conflict();
        const r = await d.removeAttachment(docId, att, rev);
        registry.touched(name);
        sendJson(res, 200, { ok: true, id: r.id, rev: r.rev });
      }),
    );
  };
  attachmentRoutes("/:db/_design/:id", true);
  attachmentRoutes("/:db/:id", false);

  // ---- fallbacks -----------------------------------------------------------------------------
  app.use((_req: Request, res: Response) => sendJson(res, 404, { error: "not_found", reason: "missing" }));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = toCouchError(err);
    if (status >= 500) log(`error ${req.method} ${req.originalUrl}: ${body.error}: ${body.reason}`);
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    sendJson(res, status, body);
  });
  return app;
}

function methodNotAllowed(allowed: string): HttpError {
  return new HttpError(405, "method_not_allowed", `Only ${allowed} allowed`);
}

/** `_db_updates` with `feed=normal|longpoll|continuous`, `since`, `timeout`, `heartbeat`. */
async function serveDbUpdates(req: Request, res: Response, registry: DbRegistry, feeds: FeedTracker): Promise<void> {
  if (req.method !== "GET" && req.method !== "POST" && req.method !== "HEAD") throw methodNotAllowed("GET,HEAD,POST");
  const q = new Query(req.query);
  const feed = q.str("feed") ?? "normal";
  if (feed !== "normal" && feed !== "longpoll" && feed !== "continuous") {
    throw badRequest(`Supported feeds are normal, longpoll and continuous, not ${JSON.stringify(feed.slice(0, 100))}`);
  }
  const sinceRaw = q.str("since") ?? "0";
  const since = /^"(.*)"$/.exec(sinceRaw)?.[1] ?? sinceRaw;
  if (since !== "now" && !/^\d{1,15}$/.test(since)) throw badRequest("Malformed sequence supplied in 'since' parameter.");
  const first = registry.updatesSince(since);
  if (feed === "normal" || (feed === "longpoll" && first.results.length > 0)) {
    sendJson(res, 200, first);
    return;
  }
  const hbRaw = q.str("heartbeat");
  const heartbeat = hbRaw === "true" ? 60_000 : hbRaw === undefined || hbRaw === "false" ? undefined : q.int("heartbeat");
  if (heartbeat === 0) throw badRequest("heartbeat must be positive");
  const timeout = q.int("timeout") ?? (heartbeat === undefined ? 60_000 : undefined);
  res.status(200);
  res.setHeader("Content-Type", "application/json");
  res.flushHeaders();
  let lastSeq = first.last_seq;
  let done = false;
  const timers: NodeJS.Timeout[] = [];
  const onUpdate = (u: DbUpdate): void => {
    lastSeq = u.seq;
    if (feed === "longpoll") finish({ results: [u], last_seq: u.seq });
    else if (!res.writableEnded) res.write(JSON.stringify(u) + "\n");
  };
  const finish = (tail: unknown): void => {
    if (done) return;
    done = true;
    for (const t of timers) clearTimeout(t);
    registry.events.removeListener("update", onUpdate);
    unregister();
    if (tail !== undefined && !res.writableEnded) res.write(JSON.stringify(tail) + "\n");
    if (!res.writableEnded) res.end();
  };
  const unregister = feeds.add(() => finish(undefined));
  res.on("close", () => finish(undefined));
  if (res.destroyed || req.socket.destroyed) {
    finish(undefined);
    return;
  }
  if (feed === "continuous") for (const u of first.results) res.write(JSON.stringify(u) + "\n");
  registry.events.on("update", onUpdate);
  if (heartbeat !== undefined) timers.push(setInterval(() => !res.writableEnded && res.write("\n"), heartbeat));
  if (timeout !== undefined) {
    timers.push(setTimeout(() => finish(feed === "longpoll" ? { results: [], last_seq: lastSeq } : { last_seq: lastSeq }), timeout));
  }
}
