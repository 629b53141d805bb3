/**
 * The branches a merge of migrated leaves ended (`conflicts.ts`), as the marks on their ends tell them. Browser-safe.
 *
 * `divan: { merged: true, into }` on the tombstone that ends a merged branch names the revision it went into. Replicas
 * that each merged a different one of two branches (a criss-cross) meet where those marks say, not in their plain
 * histories.
 */
import { historyOf, type Doc, type DocumentStore } from "../../store/port.js";

/** A merged branch's end: document `id`'s branch ending at `edit` (its revisions `history`) went into revision `into`. */
export interface MergedEnd {
  readonly id: string;
  readonly into: string;
  readonly edit: string;
  readonly history: ReadonlySet<string>;
}

/** The revisions `leaf` holds: its history, and every branch merged into a revision of it (`merges`), transitively. */
function heldRevisions(leaf: Doc, merges: readonly MergedEnd[]): Set<string> {
  const out = new Set(historyOf(leaf));
  for (let grown = true; grown; ) {
    grown = false;
    for (const m of merges) {
      if (m.id !== leaf._id || !out.has(m.into) || out.has(m.edit)) continue;
      for (const r of m.history) out.add(r);
      grown = true;
    }
  }
  return out;
}

/**
 * The leaves among `leaves` (one document's) that are only a merge (merged branch ends `merges` name them `into`) whose
 * every input, its parent and the branches merged into it, another leaf holds: in its history, or through the
 * branches merged into a revision of it. Such a merge adds nothing that leaf lacks (the other replica merged the same
 * branches and its user edited on since), so it ends. Of two such merges of the same inputs the one later in revision
 * order ends: every replica ends the same one.
 */
function supersededMerges(leaves: readonly Doc[], merges: readonly MergedEnd[]): Doc[] {
  if (leaves.length < 2) return [];
  const ended: Doc[] = [];
  for (const y of [...leaves].sort((a, b) => -byRev(a, b))) {
    const into = merges.filter((m) => m.id === y._id && m.into === y._rev);
    const parent = historyOf(y)[1];
    if (into.length === 0 || parent === undefined) continue;
    const inputs = [parent, ...into.map((m) => m.edit)];
    if (leaves.some((x) => x !== y && !ended.includes(x) && ((h) => inputs.every((r) => h.has(r)))(heldRevisions(x, merges)))) ended.push(y);
  }
  return ended;
}

/**
 * The merged branch ends among the leaves of documents `docIds` (deleted ones included; `ends`, one document's leaf
 * revisions, as the changes feed gave them): each names the edit it ended (its parent) and the merge it went into.
 */
export async function mergedEnds(store: DocumentStore, docIds: readonly string[], ends: { readonly id: string; readonly revs: readonly string[] }): Promise<MergedEnd[]> {
  // Read for every document of the entity: the conflict at hand may be a sibling's, the marks are the old document's.
  const feed = await store.changes({ docIds: [...docIds], style: "all_docs" });
  const endRevs = [{ id: ends.id, revs: ends.revs }, ...feed.results.filter((c) => c.id !== ends.id).map((c) => ({ id: c.id, revs: c.changes.map((x) => x.rev) }))];
  return (await store.bulkGet(endRevs.flatMap((e) => e.revs.map((rev) => ({ id: e.id, rev }))), { revs: true })).flatMap((r) => {
    if (!("ok" in r) || r.ok._deleted !== true) return [];
    const mark = r.ok["divan"] as { merged?: unknown; into?: unknown } | undefined;
    const history = historyOf(r.ok).slice(1);
    return typeof mark === "object" && mark !== null && mark.merged === true && typeof mark.into === "string" && history[0] !== undefined
      ? [{ id: r.ok._id, into: mark.into, edit: history[0], history: new Set(history) }]
      : [];
  });
}

/**
 * The newest revision every one of `leaves` (one document's) holds through the branches merged into it (`merges`), when
 * their plain histories share none: each replica merged a different one of two branches.
 */
export function heldInCommon(leaves: readonly Doc[], merges: readonly MergedEnd[]): string | undefined {
  const held = leaves.map((l) => heldRevisions(l, merges));
  return [...held[0]!].filter((r) => held.every((h) => h.has(r))).sort((a, b) => Number.parseInt(b, 10) - Number.parseInt(a, 10))[0];
}

/**
 * Ends, in `docs` (each document type's live leaves), every leaf {@link supersededMerges} finds: returns the tombstones
 * to write and leaves `docs` without them.
 */
export function endSupersededMerges(docs: Map<string, Doc[]>, merges: readonly MergedEnd[]): Doc[] {
  const writes: Doc[] = [];
  for (const [t, leaves] of docs) {
    const ended = supersededMerges(leaves, merges);
    if (ended.length === 0) continue;
    docs.set(t, leaves.filter((l) => !ended.includes(l)));
    for (const l of ended) writes.push({ _id: l._id, _rev: l._rev!, _deleted: true, divan: { merged: true } });
  }
  return writes;
}

/** Orders revisions by generation, then by hash: the same order on every replica. */
export function byRev(a: Doc, b: Doc): number {
  const d = Number.parseInt(a._rev!, 10) - Number.parseInt(b._rev!, 10);
  return d !== 0 ? d : a._rev! < b._rev! ? -1 : a._rev! > b._rev! ? 1 : 0;
}
