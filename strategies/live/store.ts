/**
 * A live adapter seen through the {@link DocumentStore} port, so code written against the port (the
 * comparison harness's example app, a runner) reads and writes documents at the app's version.
 *
 * Reads and writes go through the adapter; everything else (info, `_local` documents, revs diff,
 * indexes, replication) reaches the underlying store unchanged: replication moves stored documents,
 * never translated ones. Per-document write problems map onto the port's codes the way a CouchDB
 * server answers them: `SCHEMA_INVALID` → `FORBIDDEN` with the `validate_doc_update` reason; a
 * translation problem (`STEP_FAILED`, `ENTITY_INCOMPLETE`, `NO_PATH`) → `BAD_REQUEST`.
 */
import { DivanError } from "../../core/errors.js";
import type { BulkGetResult, DocumentStore, WriteResult } from "../../store/port.js";
import type { LiveAdapter, LiveWriteResult } from "./adapter.js";

function toWriteResult(r: LiveWriteResult): WriteResult {
  if (r.ok) return r;
  const c = r.error.code;
  const code = c === "CONFLICT" || c === "FORBIDDEN" || c === "UNAUTHORIZED" ? c : c === "SCHEMA_INVALID" ? "FORBIDDEN" : "BAD_REQUEST";
  return { id: r.id, ok: false, error: { code, reason: r.error.reason } };
}

/** The port over a live adapter: documents read and written at the app's version. */
export function liveStore(adapter: LiveAdapter): DocumentStore {
  const store = adapter.store;
  return {
    name: store.name,
    capabilities: store.capabilities,
    info: () => store.info(),
    get: (id, options = {}) => adapter.get(id, { ...(options.rev === undefined ? {} : { rev: options.rev }), ...(options.conflicts === true ? { conflicts: true } : {}) }),
    async bulkGet(requests) {
      const out: BulkGetResult[] = [];
      for (const r of requests) {
        try {
          out.push({ id: r.id, ...(r.rev ? { rev: r.rev } : {}), ok: await adapter.get(r.id, r.rev === undefined ? {} : { rev: r.rev }) });
        } catch (e) {
          const reason = e instanceof Error ? e.message : String(e);
          const code = e instanceof DivanError && e.code === "NOT_FOUND" ? "NOT_FOUND" : "BAD_REQUEST";
          out.push({ id: r.id, ...(r.rev ? { rev: r.rev } : {}), error: { code, reason } });
        }
      }
      return out;
    },
    async allDocs(options = {}) {
      const page = await adapter.allDocs(options);
      return { totalRows: page.totalRows, rows: page.rows.map(({ problem: _p, ...row }) => row) };
    },
    async bulkDocs(docs, options = {}) {
      if (options.newEdits === false) return store.bulkDocs(docs, options);
      return (await adapter.bulkDocs(docs)).map(toWriteResult);
    },
    async put(doc) {
      const [r] = (await adapter.bulkDocs([doc])).map(toWriteResult);
      if (r === undefined || !r.ok) {
        throw new DivanError(r?.error.code ?? "INTERNAL", r?.error.reason ?? `no write result for ${doc._id}`, { details: { id: doc._id } });
      }
      return { id: r.id, rev: r.rev };
    },
    async remove(id, rev) {
      const [r] = (await adapter.bulkDocs([{ _id: id, _rev: rev, _deleted: true }])).map(toWriteResult);
      if (r === undefined || !r.ok) throw new DivanError(r?.error.code ?? "INTERNAL", r?.error.reason ?? `no write result for ${id}`, { details: { id } });
      return { id: r.id, rev: r.rev };
    },
    async changes(options = {}) {
      const page = await adapter.changes(options);
      return { results: page.results.filter((c) => c.problem === undefined), lastSeq: page.lastSeq };
    },
    liveChanges: (options, handlers) => adapter.liveChanges(options, handlers),
    getLocal: (id) => store.getLocal(id),
    putLocal: (doc) => store.putLocal(doc),
    removeLocal: (id) => store.removeLocal(id),
    async find(request) {
      const r = await adapter.find(request);
      return { docs: r.docs, warning: r.warning };
    },
    createIndex: (index) => store.createIndex(index),
    revsDiff: (revs) => store.revsDiff(revs),
    create: () => store.create(),
    destroy: () => store.destroy(),
    close: () => store.close(),
    replicationEndpoint: () => store.replicationEndpoint(),
  };
}
