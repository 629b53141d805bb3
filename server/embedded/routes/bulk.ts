/**
 * Bulk document resources of the embedded server: `/{db}/_bulk_docs` and `/{db}/_bulk_get`.
 */
import { badRequest, HttpError, isObject, objectBody, Query, route, sendJson, toCouchError } from "../http.js";
import { bulkResult, checkDocId, conflict, editsOfDeleted, knownRevs, newId, type Doc, type RouteContext } from "./support.js";

/** Registers the bulk resources. */
export function bulkRoutes(c: RouteContext): void {
  const { app, registry, validator, json, db } = c;
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
}
