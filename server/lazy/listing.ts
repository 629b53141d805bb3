/**
 * A view's listings for the translating proxy: `_all_docs` rows and `_changes` pages at one app version, with the
 * synthetic revisions of the revision map (what a view serves, read through {@link ViewReader}).
 */
import type { LiveAdapter, LiveChange, RowProblem } from "../../strategies/live/adapter.js";
import type { Doc, Seq } from "../../store/port.js";
import type { ViewRev } from "./revmap.js";

/** A view document as served: its current revision record and content (undefined when deleted). */
export interface Served {
  readonly entry: ViewRev;
  readonly doc: Doc | undefined;
}

/** One translated change. */
export interface ViewChange {
  id: string;
  seq: Seq;
  changes: { rev: string }[];
  deleted?: boolean;
  doc?: Doc;
}

/** What `_all_docs` at a view takes. */
export interface AllDocsOptions {
  keys?: string[];
  startkey?: string;
  endkey?: string;
  limit?: number;
  skip?: number;
  descending?: boolean;
  includeDocs: boolean;
  /** With `includeDocs`: each document's `_conflicts` ({@link ViewReader.conflicts} for views). */
  conflicts?: boolean;
}

/** What `_changes` at a view takes. */
export interface ChangesOptions {
  since?: Seq | "now";
  limit?: number;
  includeDocs: boolean;
  docIds?: readonly string[];
  descending?: boolean;
}

/** What the listings read of a view (`VersionView`). */
export interface ViewReader {
  /** True for an id of a document the view translates. */
  isView(id: string): boolean;
  /** The stored ids of the entity of view document `id`. */
  entityIds(id: string): string[];
  /** The revision record of view document `id`. */
  recorded(id: string): Promise<ViewRev | undefined>;
  /** View document `id` as served now (from `precomputed`, its translation, when given). */
  serve(id: string, precomputed?: { doc: Doc | undefined }): Promise<Served | undefined | RowProblem>;
  /** The served document with its synthetic `_rev` (and `_revisions` with `revs`). */
  render(id: string, served: Served, revs: boolean): Doc;
  /** The synthetic revisions of the conflicts of view document `id`. */
  conflicts(id: string, entry: ViewRev): Promise<string[]>;
  /** Sets the `_conflicts` of `doc`, a document that is not a view, from the store. */
  plainConflicts(doc: Doc): Promise<void>;
}

/** Rows of `_all_docs` at this version (family rows with synthetic revisions; problem rows left out in ranges). */
export async function listAllDocs(view: ViewReader, adapter: LiveAdapter, options: AllDocsOptions): Promise<{ totalRows: number; rows: Record<string, unknown>[] }> {
  const { includeDocs, conflicts, ...rest } = options;
  const page = await adapter.allDocs({ ...rest, includeDocs: true });
  const rows: Record<string, unknown>[] = [];
  for (const row of page.rows) {
    if (!view.isView(row.id)) {
      if (row.problem !== undefined || row.error !== undefined) rows.push({ key: row.key, error: row.error ?? "not_found" });
      else rows.push({ id: row.id, key: row.key, value: row.value, ...(includeDocs ? { doc: row.doc ?? null } : {}) });
      if (includeDocs && conflicts === true && row.doc) await view.plainConflicts(row.doc);
      continue;
    }
    if (row.problem !== undefined || row.doc === undefined || row.doc === null) {
      const rec = options.keys !== undefined && row.problem === undefined ? await view.recorded(row.id) : undefined;
      if (rec?.deleted === true) rows.push({ id: row.id, key: row.key, value: { rev: rec.rev, deleted: true }, ...(includeDocs ? { doc: null } : {}) });
      else if (options.keys !== undefined) rows.push({ key: row.key, error: "not_found" });
      continue;
    }
    const served = await view.serve(row.id, { doc: row.doc });
    if (served === undefined || "code" in served) continue;
    if (served.doc === undefined) {
      if (options.keys !== undefined) rows.push({ id: row.id, key: row.key, value: { rev: served.entry.rev, deleted: true }, ...(includeDocs ? { doc: null } : {}) });
      continue;
    }
    let doc: Doc | undefined;
    if (includeDocs) {
      doc = view.render(row.id, served, false);
      const revs = conflicts === true ? await view.conflicts(row.id, served.entry) : [];
      if (revs.length > 0) doc._conflicts = revs;
    }
    rows.push({ id: row.id, key: row.key, value: { rev: served.entry.rev }, ...(doc !== undefined ? { doc } : {}) });
  }
  return { totalRows: page.totalRows, rows };
}

/**
 * One page of translated changes after `since`: reads raw pages until one translates to at least one
 * change or the feed is exhausted (a page of only untranslatable or unchanged views must not end a
 * replication early). `lastSeq` is the last raw sequence read.
 */
export async function listChanges(view: ViewReader, adapter: LiveAdapter, options: ChangesOptions): Promise<{ results: ViewChange[]; lastSeq: Seq }> {
  let since = options.since;
  const wanted = options.docIds === undefined ? undefined : new Set(options.docIds);
  const rawIds = options.docIds === undefined ? undefined : [...new Set(options.docIds.flatMap((id) => (view.isView(id) ? view.entityIds(id) : [id])))];
  for (let pages = 0; ; pages++) {
    const page = await adapter.changes({
      ...(since !== undefined ? { since } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(rawIds !== undefined ? { docIds: rawIds } : {}),
      ...(options.descending === true ? { descending: true } : {}),
      includeDocs: true,
      style: "all_docs",
    });
    const results: ViewChange[] = [];
    for (const c of page.results) {
      if (wanted !== undefined && !wanted.has(c.id)) continue;
      const change = await translateChange(view, c, options.includeDocs);
      if (change !== undefined) results.push(change);
    }
    const exhausted = page.results.length === 0 || page.lastSeq === since || options.descending === true || options.limit === undefined;
    if (results.length > 0 || exhausted || pages > 10_000) return { results, lastSeq: page.lastSeq };
    since = page.lastSeq;
  }
}

/** One raw change as view `view` serves it: a view's leaves are its synthetic revisions; undefined when it has no translation. */
async function translateChange(view: ViewReader, c: LiveChange, includeDocs: boolean): Promise<ViewChange | undefined> {
  if (!view.isView(c.id)) {
    const out: ViewChange = { id: c.id, seq: c.seq, changes: c.changes };
    if (c.deleted === true) out.deleted = true;
    if (includeDocs && c.doc !== undefined) out.doc = c.doc;
    return out;
  }
  if (c.problem !== undefined) return undefined;
  const served = await view.serve(c.id, { doc: c.deleted === true ? undefined : c.doc });
  if (served === undefined || "code" in served) return undefined;
  // Every leaf: the current revision, and the tombstones of branches a merge ended.
  const out: ViewChange = { id: c.id, seq: c.seq, changes: [served.entry.rev, ...(served.entry.ended ?? []).map((e) => e.rev)].map((rev) => ({ rev })) };
  if (served.doc === undefined) out.deleted = true;
  if (includeDocs) out.doc = view.render(c.id, served, false);
  return out;
}
