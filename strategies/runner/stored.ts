/**
 * The runner's "read stored" phase: the documents a batch's outputs, copies and deletions will replace, read from
 * the target, and the other reads of current documents (the source's, one stored document, attachment bodies).
 */
import { isDivanError } from "../../core/errors.js";
import type { AllDocsRow, Doc, DocumentStore } from "../../store/port.js";
import type { Batch, Job, RunContext } from "./context.js";

/** Ids of one prefix from which a store is read by key range instead of by keys. */
const RANGE_MIN_IDS = 16;

/** The target's documents a batch replaces. */
export interface Stored {
  /** In place: the batch's own source documents, by id. */
  readonly inBatch: ReadonlyMap<string, Doc>;
  /** The target's current (non-deleted) documents, by id. */
  readonly stored: ReadonlyMap<string, Doc>;
  /** Their revisions. */
  readonly storedRev: ReadonlyMap<string, string>;
  /** The document an output with this id replaces: in place the batch's own first. */
  readonly current: (id: string) => Doc | undefined;
}

/** Reads the stored documents every output (and every copy / deletion) of `jobs` and `batch` will replace. */
export async function readStored(ctx: RunContext, jobs: readonly Job[], batch: Batch): Promise<Stored> {
  const copy = !ctx.inPlace;
  const inBatch = new Map<string, Doc>();
  if (!copy) for (const e of batch.entities.values()) for (const it of e.items) inBatch.set(it.doc._id, it.doc);
  const wanted = new Set<string>();
  for (const job of jobs) for (const d of Object.values(job.out ?? {})) if (typeof d._id === "string" && !inBatch.has(d._id)) wanted.add(d._id);
  if (copy) {
    for (const it of batch.copies) wanted.add(it.doc._id);
    for (const del of batch.deletions) for (const id of familyTargets(ctx, del)) wanted.add(id);
  }
  const stored = new Map<string, Doc>();
  const storedRev = new Map<string, string>();
  if (wanted.size > 0) {
    for (const row of await rowsOf(ctx, ctx.dst, wanted, false)) {
      if (row.error !== undefined || row.value === undefined || row.value.deleted === true) continue;
      storedRev.set(row.id, row.value.rev);
      if (row.doc !== undefined && row.doc !== null) stored.set(row.id, row.doc);
    }
  }
  const current = (id: string): Doc | undefined => (copy ? stored.get(id) : (inBatch.get(id) ?? stored.get(id)));
  return { inBatch, stored, storedRev, current };
}

/** Copy mode: the tombstone's own id and the target-version ids of its entity family, deleted with it. */
export function familyTargets(ctx: RunContext, del: Batch["deletions"][number]): Set<string> {
  const targets = new Set<string>([del.item.doc._id]);
  for (const t of ctx.families.get(del.type) ?? []) if (ctx.to[t] !== undefined) targets.add(ctx.ids.format(t, del.entityId, ctx.to[t]!));
  return targets;
}

/** The current documents (with their conflicts) of `ids` in the source; with `deleted`, tombstones as `{ _id, _rev, _deleted }`. */
export async function currentDocs(ctx: RunContext, ids: readonly string[], deleted: boolean): Promise<Doc[]> {
  if (ids.length === 0) return [];
  const page = await ctx.retry(() => ctx.src.allDocs({ keys: [...ids], includeDocs: true, conflicts: true }));
  const docs: Doc[] = [];
  for (const row of page.rows) {
    if (row.error !== undefined || row.value === undefined) continue;
    if (row.value.deleted === true) {
      if (deleted) docs.push({ _id: row.id, _rev: row.value.rev, _deleted: true });
    } else if (row.doc !== undefined && row.doc !== null) docs.push(row.doc);
  }
  return docs;
}

/** The stored document `id` of the target, or `null` when there is none. */
export async function storedOrNull(ctx: RunContext, id: string): Promise<Doc | null> {
  try {
    return await ctx.dst.get(id);
  } catch (e) {
    if (isDivanError(e, "NOT_FOUND")) return null;
    throw e;
  }
}

/** Copy mode: the attachment bodies (base64) of translated documents' inputs, by digest. */
export async function inlineAttachments(ctx: RunContext, jobs: readonly Job[]): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  const requests: { id: string; rev: string }[] = [];
  for (const job of jobs) {
    for (const d of Object.values(job.input)) {
      if (d._attachments !== undefined && typeof d._id === "string" && typeof d._rev === "string") requests.push({ id: d._id, rev: d._rev });
    }
  }
  if (requests.length === 0) return out;
  for (const r of await ctx.retry(() => ctx.src.bulkGet(requests, { attachments: true }))) {
    if (!("ok" in r)) continue;
    for (const att of Object.values(r.ok._attachments ?? {})) {
      const a = att as Record<string, unknown>;
      if (typeof a["digest"] === "string" && typeof a["data"] === "string") out.set(a["digest"], a);
    }
  }
  return out;
}

/**
 * The current rows (with documents) of `ids` in `store`. Ids sharing a prefix (`<type>:`) are asked for as
 * one `_all_docs` key range rather than as `keys`: a range answers for every id in it, present or not, in
 * one index seek, where `keys` costs a lookup per id (and, on PouchDB, a query per id) although on a fresh
 * copy target or for siblings that do not exist every one of them misses. A range holding many documents
 * that were not asked for is cut off by a limit and the rest asked for by `keys`; small groups go by `keys`.
 * Either way it is one read at one moment, like a single `keys` request.
 */
export async function rowsOf(ctx: RunContext, store: DocumentStore, ids: ReadonlySet<string>, conflicts: boolean): Promise<AllDocsRow[]> {
  const groups = new Map<string, string[]>();
  for (const id of ids) {
    const colon = id.indexOf(":");
    const prefix = colon < 0 ? id : id.slice(0, colon + 1);
    let g = groups.get(prefix);
    if (g === undefined) groups.set(prefix, (g = []));
    g.push(id);
  }
  const byKeys: string[] = [];
  const ranges: string[][] = [];
  for (const g of groups.values()) {
    if (g.length >= RANGE_MIN_IDS) ranges.push(g);
    else byKeys.push(...g);
  }
  const rows: AllDocsRow[] = [];
  const extra = conflicts ? { conflicts: true } : {};
  const keysQuery = async (keys: string[]): Promise<void> => {
    if (keys.length === 0) return;
    const page = await ctx.retry(() => store.allDocs({ keys, includeDocs: true, ...extra }));
    for (const row of page.rows) if (row.error === undefined && row.value !== undefined) rows.push(row);
  };
  const rangeQuery = async (group: string[]): Promise<void> => {
    group.sort();
    const first = group[0]!;
    const last = group[group.length - 1]!;
    const limit = group.length * 2 + RANGE_MIN_IDS;
    const page = await ctx.retry(() => store.allDocs({ startkey: first, endkey: last, limit, includeDocs: true, ...extra }));
    for (const row of page.rows) if (ids.has(row.id) && row.value !== undefined) rows.push(row);
    if (page.rows.length >= limit) {
      // Cut off: ask for the ids after the last row by key.
      const seen = page.rows[page.rows.length - 1]!.id;
      await keysQuery(group.filter((id) => id > seen));
    }
  };
  await Promise.all([keysQuery(byKeys), ...ranges.map(rangeQuery)]);
  return rows;
}
