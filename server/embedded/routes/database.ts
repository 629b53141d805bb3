/**
 * Database resources of the embedded server: `/{db}` itself and its database-level endpoints (`_changes`,
 * `_all_docs`, `_revs_diff`, `_ensure_full_commit`, `_compact`, `_view_cleanup`, `_security`, `_revs_limit`).
 */
import { serveChanges } from "../changes.js";
import { badRequest, objectBody, Query, route, sendJson } from "../http.js";
import { allDocs, checkDocId, conflict, editsOfDeleted, methodNotAllowed, newId, param, rangeOptions, type RouteContext } from "./support.js";

/** Registers the database resource `/{db}` (PUT, DELETE, GET, POST) and its endpoints. */
export function databaseRoutes(c: RouteContext): void {
  const { app, registry, validator, json, db } = c;
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
  databaseEndpoints(c);
}

/** Registers the database-level endpoints (`/{db}/_changes`, `/{db}/_all_docs`, …). */
function databaseEndpoints(c: RouteContext): void {
  const { app, feeds, validator, json, db } = c;
  app.all(
    "/:db/_changes",
    json,
    route(async (req, res) => {
      if (req.method !== "GET" && req.method !== "POST" && req.method !== "HEAD") throw methodNotAllowed("GET,HEAD,POST");
      const { db: d } = db(req);
      await serveChanges(req, res, d, feeds);
    }),
  );
  app.all(
    "/:db/_all_docs",
    json,
    route(async (req, res) => {
      if (req.method !== "GET" && req.method !== "POST" && req.method !== "HEAD") throw methodNotAllowed("GET,HEAD,POST");
      const { db: d } = db(req);
      const r = await allDocs(d, rangeOptions(req, false));
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
}
