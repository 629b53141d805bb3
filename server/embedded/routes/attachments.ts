/**
 * Attachment resources of the embedded server: `/{db}/{docid}/{attname}` and `/{db}/_design/{ddoc}/{attname}`.
 */
import type { Request } from "express";
import { badRequest, HttpError, isObject, Query, route, sendJson } from "../http.js";
import { conflict, param, revFrom, type Doc, type RouteContext } from "./support.js";

/** Registers the attachment resources. */
export function attachmentRoutes(c: RouteContext): void {
  const { app, registry, validator, raw, db } = c;
  const attachmentName = (req: Request): string => {
    const rest = (req.params as Record<string, string | undefined>)[0] ?? "";
    if (rest === "") throw badRequest("Missing attachment name");
    return rest;
  };
  const resources = (prefix: string, design: boolean) => {
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
  resources("/:db/_design/:id", true);
  resources("/:db/:id", false);
}
