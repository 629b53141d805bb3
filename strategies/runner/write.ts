/**
 * The runner's "write" phase: the writes a batch's translations, copy-mode deletions and carried documents make on
 * the target, and the `_bulk_docs` requests that make them.
 */
import type { Doc, WriteResult } from "../../store/port.js";
import { attributeHashes, divanWithBases, type AttributeHashes } from "./bases.js";
import { jsonEqual } from "../../core/json.js";
import { sameContent, withDeterministicRev } from "./canonical.js";
import { revOf, type Batch, type Item, type Job, type RunContext, type Write } from "./context.js";
import { translationProblem } from "./plan.js";
import { recordingSplit } from "./split.js";
import { familyTargets, type Stored } from "./stored.js";
import type { DocumentResult } from "./types.js";

/** Documents per `_bulk_docs` request: this many times the page size. */
const WRITE_FANOUT = 4;

/** The writes of one batch, and which of them each entity answers for. */
export interface PlannedWrites {
  readonly writes: Write[];
  readonly entities: { job: Job; writes: Write[] }[];
}

/**
 * Plans the writes of the translated jobs (a translation that is invalid or loses information is quarantined instead)
 * and, in a copy, the deletions of tombstoned entities (whose results are given here).
 */
export function planWrites(ctx: RunContext, jobs: readonly Job[], stored: Stored, inline: ReadonlyMap<string, Record<string, unknown>>, batch: Batch): PlannedWrites {
  const copy = !ctx.inPlace;
  const writes: Write[] = [];
  const entities: { job: Job; writes: Write[] }[] = [];
  for (const job of jobs) {
    if (job.out === undefined) continue;
    const problem = translationProblem(ctx, job);
    if (problem !== undefined) {
      for (const it of job.items) {
        ctx.quarantineItem(it, problem.code, problem.reason);
        if (copy) batch.copies.push(it);
      }
      continue;
    }
    const mine = entityWrites(ctx, job, stored, inline);
    writes.push(...mine);
    entities.push({ job, writes: mine });
  }
  if (copy) {
    for (const del of batch.deletions) {
      const targets = familyTargets(ctx, del);
      let n = 0;
      for (const id of targets) {
        const rev = stored.storedRev.get(id);
        if (rev === undefined) continue;
        writes.push({ doc: { _id: id, _rev: rev, _deleted: true }, sources: [del.item] });
        n++;
      }
      ctx.result({ status: n > 0 ? "migrated" : "skipped", id: del.item.doc._id, ...revOf(del.item.doc), ...(n > 0 ? { written: [...targets] } : { reason: "tombstone of a document the target does not have" }) } as DocumentResult);
    }
  }
  return { writes, entities };
}

/** The writes of one translated entity: each output unless the target has it already; in place, the deletion of inputs it no longer has. */
function entityWrites(ctx: RunContext, job: Job, stored: Stored, inline: ReadonlyMap<string, Record<string, unknown>>): Write[] {
  const copy = !ctx.inPlace;
  const mine: Write[] = [];
  const outIds = new Set<string>();
  for (const d of Object.values(job.out!)) {
    if (typeof d._id !== "string") continue;
    outIds.add(d._id);
    const cur = stored.current(d._id);
    const doc = toWrite(d as Doc, copy ? stored.storedRev.get(d._id) : (cur?._rev ?? d._rev));
    if (copy && doc._attachments !== undefined) doc._attachments = withInlineData(doc._attachments, inline);
    if (doc._deleted === true && cur === undefined) continue; // nothing to delete
    if (cur !== undefined && cur._deleted !== true && (copy && (cur._attachments !== undefined || d._attachments !== undefined) ? sameCopy(cur, d as Doc) : sameContent(cur, doc))) continue;
    if (!copy && doc._deleted === true && stored.inBatch.get(doc._id)?._deleted === true) continue;
    mine.push({ doc: !copy && ctx.o.recordBases === true && doc._deleted !== true ? recordingBases(doc, job.items) : doc, sources: job.items });
  }
  if (!copy && ctx.o.recordBases === true && ctx.o.deterministicRevs === true) {
    // A device that receives the translation without a document it split off can then write that one itself.
    const inputs = new Set(Object.values(job.input).flatMap((d) => (typeof d._id === "string" ? [d._id] : [])));
    mine.splice(0, mine.length, ...recordingSplit(mine, inputs));
  }
  if (!copy) {
    // In place, input documents the output no longer has (an N→1 merge, a down path) are deleted.
    for (const d of Object.values(job.input)) {
      if (typeof d._id === "string" && typeof d._rev === "string" && !outIds.has(d._id)) {
        mine.push({ doc: { _id: d._id, _rev: d._rev, _deleted: true }, sources: job.items });
      }
    }
  }
  return mine;
}

/**
 * A copy of the translated document `d` to write: its `_rev` set to `rev` (left out when there is none), without
 * `_conflicts`. Built key by key in `d`'s order: a `delete` would drop the copy out of V8's fast object layout.
 */
function toWrite(d: Doc, rev: string | undefined): Doc {
  const out = {} as Doc;
  let revSeen = false;
  for (const k in d) {
    if (!Object.hasOwn(d, k) || k === "_conflicts") continue;
    if (k === "_rev") {
      revSeen = true;
      if (rev !== undefined) out._rev = rev;
    } else out[k] = d[k];
  }
  if (!revSeen && rev !== undefined) out._rev = rev;
  return out;
}

/**
 * `doc` (a copy of the runner's own, from {@link toWrite}) recording the hashes of its attributes as the translation of
 * each source revision (`divan.bases`): set on it, as `withBases` would set it on a copy.
 */
function recordingBases(doc: Doc, sources: readonly Item[]): Doc {
  const hashes = attributeHashes(doc);
  const bases: Record<string, AttributeHashes> = {};
  for (const it of sources) if (typeof it.doc._rev === "string") bases[it.doc._rev] = hashes;
  doc["divan"] = divanWithBases(doc, bases);
  return doc;
}

/** Writes `writes` (a dry run only counts them); the result of each write that got one. */
export async function writeAll(ctx: RunContext, writes: readonly Write[]): Promise<Map<Write, WriteResult>> {
  const outcome = new Map<Write, WriteResult>();
  if (ctx.dry) {
    ctx.totals.written += writes.length;
    return outcome;
  }
  // A page's writes go in one request (a 1→2 split writes twice the page), bounded for huge fan-outs.
  const perRequest = ctx.batchSize * WRITE_FANOUT;
  for (let i = 0; i < writes.length; i += perRequest) {
    const chunk = writes.length <= perRequest ? writes : writes.slice(i, i + perRequest);
    const results = await writeChunk(ctx, chunk);
    chunk.forEach((w, j) => {
      const r = results[j];
      if (r === undefined) return;
      outcome.set(w, r);
      if (r.ok) {
        ctx.totals.written++;
        ctx.wrote(r.id, r.rev);
      }
    });
  }
  return outcome;
}

/** One `_bulk_docs` request (two with deterministic revisions: those with a fixed revision go with `new_edits: false`). */
async function writeChunk(ctx: RunContext, chunk: readonly Write[]): Promise<WriteResult[]> {
  const det = ctx.o.deterministicRevs === true;
  // A translated document records the documents split off it (`divan.split`), the very objects written next to it:
  // each one's canonical text is made once.
  const memo = new Map<object, string>();
  const payload = chunk.map((w) => {
    if (det && w.doc._attachments === undefined) w.doc = withDeterministicRev(w.doc, memo);
    return w.doc;
  });
  if (!det) return ctx.retry(() => ctx.dst.bulkDocs(payload));
  const plain: Doc[] = [];
  const fixed: Doc[] = [];
  for (const d of payload) (d._revisions === undefined ? plain : fixed).push(d);
  const r1 = fixed.length > 0 ? await ctx.retry(() => ctx.dst.bulkDocs(fixed, { newEdits: false })) : [];
  if (plain.length === 0) return r1; // every document has its revision: the answers are in the payload's order
  const r2 = plain.length > 0 ? await ctx.retry(() => ctx.dst.bulkDocs(plain)) : [];
  const byDoc = new Map<Doc, WriteResult>();
  fixed.forEach((d, j) => byDoc.set(d, r1[j]!));
  plain.forEach((d, j) => byDoc.set(d, r2[j]!));
  return payload.map((d) => byDoc.get(d)!);
}

/**
 * Copy mode: carries documents into the target unchanged, as replication would: every leaf revision (the
 * winner and the losing ones) with its revision history and attachment bodies, written with `new_edits: false`.
 * A document the target has at the same revision, without conflicts, is not written again.
 */
export async function carry(ctx: RunContext, items: readonly Item[], storedRev: ReadonlyMap<string, string>): Promise<void> {
  const pending: Item[] = [];
  for (const it of items) {
    const conflicts = it.doc._conflicts ?? [];
    if (it.doc._deleted === true && !storedRev.has(it.doc._id)) continue; // a tombstone of a document the target does not have
    if (storedRev.get(it.doc._id) === it.doc._rev && conflicts.length === 0) {
      ctx.result({ status: "copied", id: it.doc._id, ...revOf(it.doc) });
      continue;
    }
    pending.push(it);
  }
  if (pending.length === 0) return;
  const requests = pending.flatMap((it) => [it.doc._rev, ...(it.doc._conflicts ?? [])].filter((r): r is string => r !== undefined).map((rev) => ({ id: it.doc._id, rev })));
  const got = await ctx.retry(() => ctx.src.bulkGet(requests, { revs: true, attachments: true }));
  const byId = new Map<string, Doc[]>();
  for (const r of got) {
    if (!("ok" in r)) continue;
    const { _conflicts, ...doc } = r.ok;
    void _conflicts;
    const list = byId.get(doc._id) ?? [];
    list.push(doc as Doc);
    byId.set(doc._id, list);
  }
  const payload = pending.flatMap((it) => byId.get(it.doc._id) ?? []);
  const results = ctx.dry || payload.length === 0 ? [] : await ctx.retry(() => ctx.dst.bulkDocs(payload, { newEdits: false }));
  const refused = new Map<string, { code: string; reason: string }>();
  results.forEach((r) => {
    if (r.ok) ctx.totals.written++;
    else refused.set(r.id, r.error);
  });
  if (ctx.dry) ctx.totals.written += payload.length;
  for (const it of pending) {
    const err = refused.get(it.doc._id);
    if (err !== undefined) ctx.quarantineItem(it, err.code, `the target refused the copy: ${err.reason}`);
    else if (!byId.has(it.doc._id)) ctx.quarantineItem(it, "NOT_FOUND", `${it.doc._id}@${it.doc._rev ?? "?"} could not be read again to copy it (changed meanwhile; the dirty pass copies the new revision)`);
    else ctx.result({ status: "copied", id: it.doc._id, ...revOf(it.doc) });
  }
}

/** Top-level fields a copy compares apart: revision metadata, and attachments (by name, type and digest). */
const COPY_SKIPPED: ReadonlySet<string> = new Set(["_rev", "_revisions", "_conflicts", "_attachments"]);

/**
 * Whether the copy's stored document `cur` already holds the translation `d` (with its source's attachment stubs):
 * the same content, and the same attachments by name, type and digest (a stored stub's `revpos` is the copy's own).
 */
function sameCopy(cur: Doc, d: Doc): boolean {
  const keys = (atts: Record<string, unknown> | undefined): [string, unknown, unknown][] =>
    Object.entries(atts ?? {})
      .map(([name, a]): [string, unknown, unknown] => [name, (a as Record<string, unknown>)["content_type"], (a as Record<string, unknown>)["digest"]])
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return jsonEqual(cur, d, COPY_SKIPPED) && jsonEqual(keys(cur._attachments), keys(d._attachments));
}

/** Attachments with stubs replaced by the inline bodies of the same digest. */
function withInlineData(atts: Record<string, unknown>, inline: ReadonlyMap<string, Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, att] of Object.entries(atts)) {
    const a = att as Record<string, unknown>;
    const body = typeof a["digest"] === "string" ? inline.get(a["digest"]) : undefined;
    out[name] = body === undefined ? a : { content_type: body["content_type"], data: body["data"] };
  }
  return out;
}
