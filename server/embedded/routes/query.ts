/**
 * Query resources of the embedded server: Mango (`_find`, `_explain`, `_index`) and views (`/{db}/_design/{ddoc}/_view/{view}`).
 */
import { badRequest, HttpError, isObject, objectBody, route, sendJson } from "../http.js";
import { findError, methodNotAllowed, param, rangeOptions, type RouteContext } from "./support.js";

/** Registers the query resources. */
export function queryRoutes(c: RouteContext): void {
  const { app, registry, json, db } = c;
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

}
