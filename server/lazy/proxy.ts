/**
 * The translating proxy (server-side lazy migration): one CouchDB-compatible database per app version in
 * front of the single server database.
 *
 * The translating proxy (server-side lazy migration): one CouchDB-compatible database per app version in
 * front of the single server database, so each app version's PouchDB replicates with it as with a
 * database of its own version.
 *
 * Served per view database (`/<view>`): `GET/HEAD /` (info), `GET/POST _changes` (normal and longpoll;
 * `_doc_ids` filter), `POST _bulk_get`, `POST _revs_diff`, `POST _bulk_docs` (incl. `new_edits: false`),
 * `GET/POST _all_docs`, `GET/PUT/DELETE <id>` (incl. `open_revs`, `revs`), `GET/PUT/DELETE _local/<id>`
 * (checkpoints, stored in the server database prefixed per view), `POST _ensure_full_commit`; and `GET /`.
 *
 * Reads translate stored documents down (or up) to the view's version through the live adapter core;
 * writes translate up with the stored newest shape as base and store the newest version, so documents
 * migrate lazily as devices touch them. Translated documents get synthetic revisions from the revision map
 * (`revmap.ts`); documents of types no step names pass through with their real revisions.
 *
 * `GET <id>/<attachment>` serves an attachment of a translated document from the stored document of the same id that
 * holds it (the stub's digest names it), and of any other document as stored: a replicating device fetches every
 * attachment that way.
 *
 * Not served: `continuous`/`eventsource` feeds (400), `_find`, `_selector` filters (400). `GET <id>?rev=` of an older revision of a translated document answers the
 * current one (its content is not kept).
 *
 * Conflicts: `GET <id>?conflicts=true` and `_all_docs?include_docs=true&conflicts=true` report `_conflicts`
 * on a translated document whenever a stored document of its entity is in conflict, one synthetic revision
 * per conflicting stored leaf, in every app version's view (`VersionView.conflicts`); the content of those
 * revisions is not served. An old version's edit that would overwrite a stored member the version cannot show,
 * changed by another version since the revision the edit was made on, keeps the stored entity on such a
 * conflict branch (`revmap.ts`).
 */
import { randomUUID } from "node:crypto";
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { createStepGraph } from "../../adapters/path.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import type { TranslatingProxy, TranslatingProxyOptions } from "../../strategies/proxy.js";
import type { BulkGetRequest, Doc, DocumentStore, LiveFeed } from "../../store/port.js";
import { badRequest, HttpError, isObject, listenLocal, objectBody, Query, route, sendJson, toCouchError } from "../embedded/http.js";
import { inProcessFetch, type InProcessFetch } from "./inject.js";
import { knows } from "./revmap.js";
import { KeyedLock } from "./lock.js";
import { couchStatusOf } from "./status.js";
import { CHECKPOINT_PREFIX, VersionView, type ViewChange } from "./views.js";

const COUCHDB_VERSION = "3.3.3";
const DEFAULT_LONGPOLL_TIMEOUT = 60_000;

function errorOf(e: unknown): { status: number; body: { error: string; reason: string } } {
  if (isDivanError(e)) {
    const [status, error] = couchStatusOf(e.code);
    return { status, body: { error, reason: e.message } };
  }
  return toCouchError(e);
}

function param(req: Request, name: string): string {
  const v: unknown = (req.params as Record<string, unknown>)[name];
  if (typeof v !== "string") throw badRequest(`Missing path segment ${name}`);
  return v;
}

function stringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === "string")) throw badRequest(`${what} must be an array of strings`);
  return v;
}

/** What the route modules of the proxy share. */
interface ProxyContext {
  readonly store: DocumentStore;
  readonly uuid: string;
  /** Stops of the longpoll waits in progress (closing the proxy ends them). */
  readonly feeds: Set<() => void>;
  /** The view database a request names; 404 for any other. */
  readonly viewOf: (req: Request) => VersionView;
  /** The JSON body parser. */
  readonly json: RequestHandler;
}

/** `GET /`, and `GET/HEAD/PUT /<view>` and `_ensure_full_commit`: the server and each view database. */
function databaseRoutes(app: Express, ctx: ProxyContext): void {
  app.get("/", (_req, res) => sendJson(res, 200, { couchdb: "Welcome", version: COUCHDB_VERSION, uuid: ctx.uuid, vendor: { name: "divan lazy proxy" } }));

  app.get(
    "/:db",
    route(async (req, res) => {
      const v = ctx.viewOf(req);
      const info = await ctx.store.info();
      sendJson(res, 200, { db_name: v.name, doc_count: info.docCount, doc_del_count: info.docDelCount ?? 0, update_seq: info.updateSeq, instance_start_time: "0" });
    }),
  );
  app.head(
    "/:db",
    route(async (req, res) => {
      ctx.viewOf(req);
      res.status(200).end();
    }),
  );
  app.put(
    "/:db",
    route(async (req) => {
      ctx.viewOf(req);
      throw new HttpError(412, "file_exists", "The database could not be created, the file already exists.");
    }),
  );
  app.post(
    "/:db/_ensure_full_commit",
    route(async (req, res) => {
      ctx.viewOf(req);
      sendJson(res, 201, { ok: true, instance_start_time: "0" });
    }),
  );
}

/** `GET/POST /<view>/_changes`: normal and longpoll feeds, translated. */
function changesRoutes(app: Express, ctx: ProxyContext): void {
  const changes = route(async (req, res) => {
    const v = ctx.viewOf(req);
    const q = new Query(req.query);
    const body: Record<string, unknown> = req.method === "POST" && isObject(req.body) ? req.body : {};
    const feed = q.str("feed") ?? "normal";
    if (feed !== "normal" && feed !== "longpoll") throw badRequest(`feed=${feed} is not served by the translating proxy (use normal or longpoll)`);
    const filter = q.str("filter");
    let docIds: string[] | undefined;
    if (filter === "_doc_ids") docIds = stringList(body["doc_ids"] ?? q.json("doc_ids"), "doc_ids");
    else if (filter !== undefined) throw badRequest(`filter=${filter} is not served by the translating proxy`);
    const sinceRaw = q.str("since");
    const since = sinceRaw === undefined || sinceRaw === "0" ? undefined : sinceRaw;
    const limit = q.int("limit");
    const includeDocs = q.bool("include_docs") === true;
    const descending = q.bool("descending") === true;
    const read = () => v.changes({ ...(since !== undefined ? { since } : {}), ...(limit !== undefined ? { limit } : {}), includeDocs, ...(docIds ? { docIds } : {}), descending });
    let page = await read();
    if (feed === "longpoll" && page.results.length === 0) {
      const timeout = q.int("timeout") ?? DEFAULT_LONGPOLL_TIMEOUT;
      const heartbeat = q.int("heartbeat");
      res.status(200);
      res.setHeader("Content-Type", "application/json");
      res.setHeader("Cache-Control", "must-revalidate");
      res.flushHeaders();
      const beat = heartbeat !== undefined && heartbeat > 0 ? setInterval(() => res.write("\n"), heartbeat) : undefined;
      page = await waitForChanges(ctx, page.lastSeq, timeout, read, res);
      if (beat !== undefined) clearInterval(beat);
      res.end(JSON.stringify(changesBody(page.results, page.lastSeq)) + "\n");
      return;
    }
    sendJson(res, 200, changesBody(page.results, page.lastSeq));
  });

  app.get("/:db/_changes", changes);
  app.post("/:db/_changes", ctx.json, changes);
}

/** `POST _bulk_get` and `GET/POST _all_docs` of a view. */
function readRoutes(app: Express, ctx: ProxyContext): void {
  app.post(
    "/:db/_bulk_get",
    ctx.json,
    route(async (req, res) => {
      const v = ctx.viewOf(req);
      const q = new Query(req.query);
      const revs = q.bool("revs") === true;
      const docs = objectBody(req)["docs"];
      if (!Array.isArray(docs)) throw badRequest("Missing JSON list of 'docs'.");
      const results: { id: string; docs: Record<string, unknown>[] }[] = [];
      const plain: { at: number; req: BulkGetRequest }[] = [];
      for (const d of docs) {
        if (!isObject(d) || typeof d["id"] !== "string") throw badRequest("Every entry of 'docs' needs a string 'id'.");
        const id = d["id"];
        const rev = typeof d["rev"] === "string" ? d["rev"] : undefined;
        if (!v.isView(id)) {
          plain.push({ at: results.length, req: { id, ...(rev !== undefined ? { rev } : {}) } });
          results.push({ id, docs: [] });
          continue;
        }
        results.push({ id, docs: [await openView(v, id, rev, revs)] });
      }
      if (plain.length > 0) {
        const got = await ctx.store.bulkGet(plain.map((p) => p.req), { revs });
        got.forEach((g, k) => {
          const slot = results[plain[k]!.at]!;
          slot.docs.push("ok" in g ? { ok: g.ok } : { error: { id: g.id, rev: g.rev ?? "undefined", error: "not_found", reason: g.error.reason } });
        });
      }
      sendJson(res, 200, { results });
    }),
  );

  const allDocs = route(async (req, res) => {
    const v = ctx.viewOf(req);
    const q = new Query(req.query);
    const body: Record<string, unknown> = req.method === "POST" && isObject(req.body) ? req.body : {};
    const keysRaw = body["keys"] ?? q.json("keys");
    const keys = keysRaw === undefined ? undefined : stringList(keysRaw, "keys");
    const str = (name: string, alias: string): string | undefined => {
      const x = q.json(name) ?? q.json(alias);
      if (x !== undefined && typeof x !== "string") throw badRequest(`${name} must be a JSON string`);
      return x;
    };
    const startkey = str("startkey", "start_key");
    const endkey = str("endkey", "end_key");
    const limit = q.int("limit");
    const skip = q.int("skip");
    const page = await v.allDocs({
      ...(keys ? { keys } : {}),
      ...(startkey !== undefined ? { startkey } : {}),
      ...(endkey !== undefined ? { endkey } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(skip !== undefined ? { skip } : {}),
      descending: q.bool("descending") === true,
      includeDocs: q.bool("include_docs") === true,
      conflicts: q.bool("conflicts") === true,
    });
    sendJson(res, 200, { total_rows: page.totalRows, offset: skip ?? 0, rows: page.rows });
  });
  app.get("/:db/_all_docs", allDocs);
  app.post("/:db/_all_docs", ctx.json, allDocs);
}

/** `POST _revs_diff` and `POST _bulk_docs` of a view (`new_edits: false` too). */
function writeRoutes(app: Express, ctx: ProxyContext): void {
  app.post(
    "/:db/_revs_diff",
    ctx.json,
    route(async (req, res) => {
      const v = ctx.viewOf(req);
      const body = objectBody(req);
      const out: Record<string, { missing: string[] }> = {};
      const plain: Record<string, string[]> = {};
      for (const [id, revs] of Object.entries(body)) {
        const list = stringList(revs, `revisions of ${id}`);
        if (!v.isView(id)) {
          plain[id] = list;
          continue;
        }
        const missing = await v.missing(id, list);
        if (missing.length > 0) out[id] = { missing };
      }
      if (Object.keys(plain).length > 0) for (const [id, r] of Object.entries(await ctx.store.revsDiff(plain))) out[id] = { missing: r.missing };
      sendJson(res, 200, out);
    }),
  );

  app.post(
    "/:db/_bulk_docs",
    ctx.json,
    route(async (req, res) => {
      const v = ctx.viewOf(req);
      const body = objectBody(req);
      const docs = body["docs"];
      if (!Array.isArray(docs) || !docs.every((d) => isObject(d))) throw badRequest("POST body must include `docs` parameter.");
      const replicated = body["new_edits"] === false;
      const withIds = (docs as Record<string, unknown>[]).map((d) => {
        if (typeof d["_id"] !== "string") {
          if (replicated) throw badRequest("Every replicated document needs an _id.");
          return { ...d, _id: randomUUID().replace(/-/g, "") } as Doc;
        }
        return d as Doc;
      });
      const results = await writeDocs(ctx.store, v, withIds, replicated);
      sendJson(res, 201, replicated ? results.filter((r) => r["error"] !== undefined) : results);
    }),
  );
}

/** `GET/PUT/DELETE _local/<id>` of a view: checkpoints, kept in the server database prefixed per view. */
function localRoutes(app: Express, ctx: ProxyContext): void {
  const localId = (v: VersionView, id: string): string => `${CHECKPOINT_PREFIX}:${v.name}:${id}`;
  app.get(
    "/:db/_local/:id",
    route(async (req, res) => {
      const v = ctx.viewOf(req);
      const id = param(req, "id");
      const doc = await ctx.store.getLocal(localId(v, id));
      if (doc === undefined) throw new HttpError(404, "not_found", "missing");
      sendJson(res, 200, { ...doc, _id: `_local/${id}` });
    }),
  );
  app.put(
    "/:db/_local/:id",
    ctx.json,
    route(async (req, res) => {
      const v = ctx.viewOf(req);
      const id = param(req, "id");
      const body = objectBody(req);
      const r = await ctx.store.putLocal({ ...body, _id: localId(v, id) });
      sendJson(res, 201, { ok: true, id: `_local/${id}`, rev: r.rev });
    }),
  );
  app.delete(
    "/:db/_local/:id",
    route(async (req, res) => {
      const v = ctx.viewOf(req);
      const id = param(req, "id");
      await ctx.store.removeLocal(localId(v, id));
      sendJson(res, 200, { ok: true, id: `_local/${id}`, rev: "0-0" });
    }),
  );
}

/** `GET/PUT/DELETE <id>` (and `_design/<id>`) of a view, with `rev`, `revs` and `open_revs`. */
function documentRoutes(app: Express, ctx: ProxyContext): void {
  const docIdOf = (req: Request): string => (req.params["ddoc"] !== undefined ? `_design/${param(req, "ddoc")}` : param(req, "id"));
  const getDoc = route(async (req, res) => {
    const v = ctx.viewOf(req);
    const id = docIdOf(req);
    const q = new Query(req.query);
    const revs = q.bool("revs") === true;
    const rev = q.str("rev");
    const openRevs = q.str("open_revs");
    if (openRevs !== undefined) {
      const wanted = openRevs === "all" ? "all" : stringList(q.json("open_revs"), "open_revs");
      if (!v.isView(id)) {
        const reqs = wanted === "all" ? [{ id }] : wanted.map((r) => ({ id, rev: r }));
        const got = await ctx.store.bulkGet(reqs, { revs });
        sendJson(res, 200, got.map((g) => ("ok" in g ? { ok: g.ok } : { missing: g.rev ?? "undefined" })));
        return;
      }
      const leaves = async (): Promise<Record<string, unknown>[]> => {
        const current = await openView(v, id, undefined, revs);
        const entry = await v.recorded(id);
        return [current, ...(await Promise.all((entry?.ended ?? []).map((e) => openView(v, id, e.rev, revs))))];
      };
      const answers = wanted === "all" ? await leaves() : await Promise.all(wanted.map((r) => openView(v, id, r, revs)));
      sendJson(res, 200, answers.map((a, k) => ("ok" in a ? a : { missing: wanted === "all" ? "undefined" : wanted[k] })));
      return;
    }
    if (!v.isView(id)) {
      const doc = await ctx.store.get(id, { ...(rev !== undefined ? { rev } : {}), revs, conflicts: q.bool("conflicts") === true });
      sendJson(res, 200, doc);
      return;
    }
    const answer = await openView(v, id, rev, revs);
    if (!("ok" in answer)) throw new HttpError(404, "not_found", "missing");
    const doc = answer["ok"] as Doc;
    if (doc._deleted === true && rev === undefined) throw new HttpError(404, "not_found", "deleted");
    if (q.bool("conflicts") === true && doc._deleted !== true) {
      const entry = await v.recorded(id);
      const conflicts = entry === undefined ? [] : await v.conflicts(id, entry);
      if (conflicts.length > 0) doc._conflicts = conflicts;
    }
    sendJson(res, 200, doc);
  });
  const putDoc = route(async (req, res) => {
    const v = ctx.viewOf(req);
    const id = docIdOf(req);
    const q = new Query(req.query);
    const body = objectBody(req);
    const rev = q.str("rev") ?? (typeof body["_rev"] === "string" ? body["_rev"] : undefined);
    const replicated = q.bool("new_edits") === false;
    const doc = { ...body, _id: id, ...(rev !== undefined ? { _rev: rev } : {}) } as Doc;
    const [r] = await writeDocs(ctx.store, v, [doc], replicated);
    if (r === undefined || r["error"] !== undefined) {
      const code = r?.["error"] === "conflict" ? 409 : r?.["error"] === "forbidden" ? 403 : r?.["error"] === "not_found" ? 404 : 400;
      throw new HttpError(code, String(r?.["error"] ?? "unknown_error"), String(r?.["reason"] ?? "write failed"));
    }
    sendJson(res, 201, { ok: true, id, rev: r["rev"] });
  });
  const deleteDoc = route(async (req, res) => {
    const v = ctx.viewOf(req);
    const id = docIdOf(req);
    const rev = new Query(req.query).str("rev");
    if (rev === undefined) throw new HttpError(409, "conflict", "Document update conflict: DELETE needs ?rev=");
    const [r] = await writeDocs(ctx.store, v, [{ _id: id, _rev: rev, _deleted: true }], false);
    if (r === undefined || r["error"] !== undefined) throw new HttpError(r?.["error"] === "conflict" ? 409 : 400, String(r?.["error"] ?? "unknown_error"), String(r?.["reason"] ?? "delete failed"));
    sendJson(res, 200, { ok: true, id, rev: r["rev"] });
  });
  app.get("/:db/_design/:ddoc", getDoc);
  app.put("/:db/_design/:ddoc", ctx.json, putDoc);
  app.delete("/:db/_design/:ddoc", deleteDoc);
  app.get("/:db/:id", getDoc);
  app.put("/:db/:id", ctx.json, putDoc);
  app.delete("/:db/:id", deleteDoc);
}

/**
 * `GET <id>/<attachment>` of a view (a device's replication fetches each attachment so). A translated document keeps
 * the stubs of the stored document it comes from: the body is the stored document's attachment of the same digest.
 * Any other document's attachment is read as stored (`rev` as asked).
 */
function attachmentRoutes(app: Express, ctx: ProxyContext): void {
  app.get(
    "/:db/:id/*",
    route(async (req, res) => {
      const v = ctx.viewOf(req);
      const id = param(req, "id");
      const name = String((req.params as Record<string, unknown>)["0"]);
      if (id.startsWith("_")) throw new HttpError(404, "not_found", "Not served by the translating proxy.");
      const rev = new Query(req.query).str("rev");
      let digest: unknown;
      if (v.isView(id)) {
        const answer = await openView(v, id, rev, false);
        const stub = "ok" in answer ? (answer["ok"] as Doc)._attachments?.[name] : undefined;
        if (!isObject(stub)) throw new HttpError(404, "not_found", `Document is missing attachment ${name}`);
        digest = stub["digest"];
      }
      const [got] = await ctx.store.bulkGet([{ id, ...(v.isView(id) || rev === undefined ? {} : { rev }) }], { attachments: true });
      const atts = got !== undefined && "ok" in got ? got.ok._attachments : undefined;
      const found = Object.entries(atts ?? {}).find(([n, a]) => isObject(a) && (digest === undefined ? n === name : a["digest"] === digest))?.[1];
      if (!isObject(found) || typeof found["data"] !== "string") throw new HttpError(404, "not_found", `Document is missing attachment ${name}`);
      res.status(200);
      res.setHeader("Content-Type", typeof found["content_type"] === "string" ? found["content_type"] : "application/octet-stream");
      if (typeof found["digest"] === "string") res.setHeader("Content-MD5", found["digest"].replace(/^md5-/, ""));
      res.end(Buffer.from(found["data"], "base64"));
    }),
  );
}

/** Waits until the server feed moves past `lastSeq` and a read translates to something, or the timeout. */
async function waitForChanges(
  ctx: ProxyContext,
  lastSeq: string,
  timeout: number,
  read: () => Promise<{ results: ViewChange[]; lastSeq: string }>,
  res: Response,
): Promise<{ results: ViewChange[]; lastSeq: string }> {
  let latest = { results: [] as ViewChange[], lastSeq };
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline && !res.destroyed) {
    const moved = await new Promise<boolean>((resolve) => {
      let feed: LiveFeed | undefined;
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        ctx.feeds.delete(stop);
        res.off("close", stop);
        void feed?.stop().catch(() => undefined);
        resolve(ok);
      };
      const stop = (): void => finish(false);
      const timer = setTimeout(stop, Math.max(0, deadline - Date.now()));
      ctx.feeds.add(stop);
      res.on("close", stop);
      feed = ctx.store.liveChanges({ since: latest.lastSeq }, { onChange: () => finish(true), onError: stop });
    });
    if (!moved) break;
    latest = await read();
    if (latest.results.length > 0) break;
  }
  return latest;
}

/** One `_bulk_get`/`open_revs` answer for a view: its current revision when `rev` is it or an ancestor of it. */
export async function openView(v: VersionView, id: string, rev: string | undefined, revs: boolean): Promise<Record<string, unknown>> {
  const served = await v.serve(id);
  const missing = { error: { id, rev: rev ?? "undefined", error: "not_found", reason: "missing" } };
  if (served === undefined || "code" in served) return missing;
  if (rev !== undefined && !knows(served.entry, rev)) return missing;
  const ended = served.entry.ended?.find((e) => e.rev === rev);
  if (ended !== undefined) {
    // the tombstone that ends a branch a merge took in
    const tombstone: Doc = { _id: id, _rev: ended.rev, _deleted: true };
    if (revs) tombstone._revisions = { start: Number.parseInt(ended.rev, 10), ids: [...ended.ancestors] };
    return { ok: tombstone };
  }
  return { ok: v.render(id, served, revs) };
}

/** Writes documents, views through the view, the rest to the store; results in input order. */
async function writeDocs(store: DocumentStore, v: VersionView, docs: Doc[], replicated: boolean): Promise<Record<string, unknown>[]> {
  const results: Record<string, unknown>[] = new Array(docs.length);
  const viewIdx: number[] = [];
  const plainIdx: number[] = [];
  docs.forEach((d, i) => (v.isView(d._id) ? viewIdx : plainIdx).push(i));
  if (viewIdx.length > 0) {
    const written = await v.write(viewIdx.map((i) => docs[i]!), replicated);
    written.forEach((w, k) => {
      results[viewIdx[k]!] = w.ok ? { ok: true, id: w.id, rev: w.rev } : { id: w.id, ...(w.rev !== undefined ? { rev: w.rev } : {}), error: w.error, reason: w.reason };
    });
  }
  if (plainIdx.length > 0) {
    const written = await store.bulkDocs(plainIdx.map((i) => docs[i]!), { newEdits: !replicated });
    written.forEach((w, k) => {
      results[plainIdx[k]!] = w.ok ? { ok: true, id: w.id, rev: w.rev } : { id: w.id, error: couchStatusOf(w.error.code)[1], reason: w.error.reason };
    });
  }
  return results;
}

/** A running translating proxy, as {@link startLazyProxy} starts it. */
export interface LazyProxy extends TranslatingProxy {
  /**
   * Answers a request to {@link TranslatingProxy.url} in process, exactly as over HTTP but without a socket
   * (e.g. PouchDB's HTTP adapter's `fetch` option, for replication inside the process that runs the proxy).
   */
  readonly fetch: InProcessFetch;
}

/**
 * Starts a translating proxy over `options.store` serving one database per entry of `options.views`.
 * Implements the strategies' {@link TranslatingProxyOptions} port.
 *
 * @throws DivanError `CONFIG_INVALID` for duplicate or unusable view names, `STORE_UNAVAILABLE` when it cannot listen.
 */
export async function startLazyProxy(options: TranslatingProxyOptions): Promise<LazyProxy> {
  const graph = createStepGraph([...options.steps], { typeField: options.registry.typeField, versionField: options.registry.versionField });
  const lock = new KeyedLock();
  const views = new Map<string, VersionView>();
  // the last view is the newest app version: writes through any view are stored at its shape
  const last = options.views[options.views.length - 1];
  const newest = last === undefined ? undefined : new VersionView({ name: last.name, shape: last.shape, store: options.store, registry: options.registry, graph, lock });
  for (const v of options.views) {
    if (!/^[a-z][a-z0-9_$()+-]*$/.test(v.name) || views.has(v.name)) {
      throw new DivanError("CONFIG_INVALID", `"${v.name}" cannot be a view database name (lowercase, unique, CouchDB name characters).`, { details: { name: v.name } });
    }
    const view = v === last ? newest! : new VersionView({ name: v.name, shape: v.shape, store: options.store, registry: options.registry, graph, lock, ...(newest ? { newest } : {}) });
    views.set(v.name, view);
  }
  const store = options.store;
  const uuid = randomUUID().replace(/-/g, "");
  const feeds = new Set<() => void>();

  const viewOf = (req: Request): VersionView => {
    const name = param(req, "db");
    const v = views.get(name);
    if (v === undefined) throw new HttpError(404, "not_found", `Database does not exist: ${name}`);
    return v;
  };

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const ctx: ProxyContext = { store, uuid, feeds, viewOf, json: express.json({ limit: "64mb", strict: true, type: () => true }) };
  for (const routes of [databaseRoutes, changesRoutes, readRoutes, writeRoutes, localRoutes, documentRoutes, attachmentRoutes]) routes(app, ctx);

  app.use((_req: Request, _res: Response, next: NextFunction) => next(new HttpError(404, "not_found", "Not served by the translating proxy.")));
  app.use((e: unknown, _req: Request, res: Response, next: NextFunction) => {
    void next;
    if (res.headersSent) {
      res.end();
      return;
    }
    const { status, body } = errorOf(e);
    sendJson(res, status, body);
  });

  const listener = await listenLocal(app, {
    port: options.port ?? 0,
    ...(options.host === undefined ? {} : { host: options.host }),
    what: "The translating proxy",
    beforeClose: () => {
      for (const stop of [...feeds]) stop();
    },
  });
  const url = listener.url;
  return {
    url,
    urlOf(name: string): string {
      if (!views.has(name)) throw new DivanError("CONFIG_INVALID", `The translating proxy serves no view "${name}".`, { details: { name } });
      return `${url}/${name}`;
    },
    fetch: inProcessFetch(app),
    close: () => listener.close(),
  };
}

/** A `_changes` response body. */
function changesBody(results: readonly ViewChange[], lastSeq: string): { results: ViewChange[]; last_seq: string } {
  return { results: [...results], last_seq: lastSeq };
}
