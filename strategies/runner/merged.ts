/**
 * Where the leaves of a merge of migrated leaves meet (`conflicts.ts`), and the branches such merges ended, as the marks
 * on their ends tell them. Browser-safe.
 *
 * `divan: { merged: true, into }` on the tombstone that ends a merged branch names the revision it went into. Replicas
 * that each merged a different one of two branches (a criss-cross) meet where those marks say, not in their plain
 * histories; documents a migration split off meet where the old revisions they were translated from meet.
 */
import { getIfExists, historyOf, type Doc, type DocumentStore } from "../../store/port.js";
import { basesOf } from "./bases.js";

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

/** Orders revisions by generation, then by hash: the same order on every replica. */
export function byRev(a: Doc, b: Doc): number {
  const d = Number.parseInt(a._rev!, 10) - Number.parseInt(b._rev!, 10);
  return d !== 0 ? d : a._rev! < b._rev! ? -1 : a._rev! > b._rev! ? 1 : 0;
}

/** The leaves of document `id` that are not deleted, with their histories (none when it is missing or deleted). */
export async function liveLeaves(store: DocumentStore, id: string): Promise<Doc[]> {
  const winner = await getIfExists(store, id, { conflicts: true });
  if (winner === undefined) return [];
  const revs = [winner._rev!, ...(winner._conflicts ?? [])];
  return (await store.bulkGet(revs.map((rev) => ({ id, rev })), { revs: true })).flatMap((r) => ("ok" in r && r.ok._deleted !== true ? [r.ok] : []));
}

/**
 * Each old edit's history (itself included): those merged into a leaf (from their merged branch's end), and each old
 * revision a leaf grew from (a device migrated its own later old edit), from the leaf's history.
 */
export function lineageOf(merges: readonly { edit: string; history: ReadonlySet<string> }[], docs: ReadonlyMap<string, readonly Doc[]>): Map<string, ReadonlySet<string>> {
  const lineage = new Map(merges.map((m) => [m.edit, m.history]));
  for (const leaves of docs.values()) for (const l of leaves) historyOf(l).forEach((rev, i, h) => lineage.has(rev) || lineage.set(rev, new Set(h.slice(i))));
  return lineage;
}

/** The newest revision both leaves grew from, as stored (undefined when none is known or its body is gone). */
export async function commonAncestor(store: DocumentStore, a: Doc, b: Doc, merged: readonly string[] = []): Promise<Doc | undefined> {
  const read = await store.bulkGet([a, b].map((d) => ({ id: d._id, rev: d._rev! })).concat(merged.map((rev) => ({ id: a._id, rev }))), { revs: true });
  const [ha, hb, ...hm] = read.map((r) => ("ok" in r ? historyOf(r.ok) : []));
  // What `b`'s side holds: its history, and the branches merged into it before (their ends' histories).
  const inB = new Set([...(hb ?? []), ...hm.flat()]);
  const rev = (ha ?? []).find((r) => r !== a._rev && inB.has(r));
  if (rev === undefined) return undefined;
  const [found] = await store.bulkGet([{ id: a._id, rev }]);
  return found !== undefined && "ok" in found && found.ok._deleted !== true ? found.ok : undefined;
}

/**
 * Revision histories of document `id`, newest first, that tell where revisions `revs` lie: their own where their bodies
 * are here, and every leaf's (deleted ones included; a replica that received a branch by replication holds only the
 * body of its leaf).
 */
export async function linesOf(store: DocumentStore, id: string, revs: readonly string[]): Promise<string[][]> {
  if (revs.length === 0) return [];
  const feed = await store.changes({ docIds: [id], style: "all_docs" });
  const leaves = feed.results.filter((c) => c.id === id).flatMap((c) => c.changes.map((x) => x.rev));
  const reads = await store.bulkGet([...new Set([...revs, ...leaves])].map((rev) => ({ id, rev })), { revs: true });
  return reads.flatMap((r) => ("ok" in r ? [historyOf(r.ok)] : []));
}

/**
 * Where the leaves of one document that share no revision meet through the old revisions their migrations translated
 * (each leaf records them as its bases): the newest revision of one of documents `sourceIds` that every leaf's sources
 * are or descend from. Two replicas migrated different revisions of one old document (one had an edit the other had
 * not seen), and the document the migration split off has no history before that.
 */
export async function metThroughSources(store: DocumentStore, leaves: readonly Doc[], sourceIds: readonly string[]): Promise<{ id: string; rev: string } | undefined> {
  const sources = leaves.map((l) => Object.keys(basesOf(l)));
  if (sources.some((s) => s.length === 0)) return undefined;
  for (const id of sourceIds) {
    const lines = await linesOf(store, id, [...new Set(sources.flat())]);
    const held = sources.map((qs) => new Set(qs.flatMap((q) => lines.flatMap((line) => (line.includes(q) ? line.slice(line.indexOf(q)) : [])))));
    const rev = [...held[0]!].filter((r) => held.every((h) => h.has(r))).sort((a, b) => Number.parseInt(b, 10) - Number.parseInt(a, 10))[0];
    if (rev !== undefined) return { id, rev };
  }
  return undefined;
}
