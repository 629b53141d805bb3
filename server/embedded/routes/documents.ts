/**
 * Document resources of the embedded server: `/{db}/{docid}`, `/{db}/_design/{ddoc}` and `/{db}/_local/{docid}` (GET, PUT, DELETE).
 */
import type { Request } from "express";
import { badRequest, HttpError, isObject, objectBody, Query, route, sendJson } from "../http.js";
import { bulkResult, checkDocId, conflict, editsOfDeleted, getOptions, knownRevs, param, revFrom, type Doc, type RouteContext } from "./support.js";

/** Registers the document resources (after every `/{db}/_…` endpoint: `/{db}/{docid}` matches them too). */
export function documentRoutes(c: RouteContext): void {
  const { app, registry, validator, json, db } = c;
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
}
