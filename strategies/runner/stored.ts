/**
 * The runner's "read stored" phase: the documents a batch's outputs, copies and deletions will replace, read from
 * the target, and the other reads of current documents (the source's, one stored document, attachment bodies).
 */
import { isDivanError } from "../../core/errors.js";
import type { AllDocsRow, Doc, DocumentStore } from "../../store/port.js";
import { liveRows } from "../../store/rows.js";
import type { Batch, Job, RunContext } from "./context.js";

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

/**
 * Reads the stored documents every output (and every copy / deletion) of `jobs` and `batch` will replace. With `fresh`
 * (a copy's scan into a database it found empty, where no one else writes), outputs and copies are taken to be new and
 * only the deletions' documents are read: a write that finds its document there after all fails with a conflict, and
 * is planned again on what a read finds then.
 */
export async function readStored(ctx: RunContext, jobs: readonly Job[], batch: Batch, fresh = false): Promise<Stored> {
  const copy = !ctx.inPlace;
  const inBatch = new Map<string, Doc>();
  if (!copy) for (const e of batch.entities.values()) for (const it of e.items) inBatch.set(it.doc._id, it.doc);
  const wanted = new Set<string>();
  if (!fresh) {
    for (const job of jobs) {
      for (const t in job.out) {
        const id = job.out[t]!._id;
        if (typeof id === "string" && !inBatch.has(id)) wanted.add(id);
      }
    }
  }
  if (copy) {
    if (!fresh) for (const it of batch.copies) wanted.add(it.doc._id);
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

/** The live rows (with documents) of `ids` in `store`, read the cheap way ({@link liveRows}) with the run's retry. */
export function rowsOf(ctx: RunContext, store: DocumentStore, ids: ReadonlySet<string>, conflicts: boolean): Promise<AllDocsRow[]> {
  return liveRows(store, ids, { conflicts, read: (query) => ctx.retry(query) });
}
