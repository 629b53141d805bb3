/**
 * Stale translations, where transformers run on several replicas (client-side transformers with
 * `deterministicRevs`). Two replicas can translate different revisions of one source document: a
 * device that edits an old document offline and then installs the new app offline back-fills from its
 * edit, while other devices already replicated their translation of the revision before it. Both
 * translations replicate, and the target document ends with two leaves.
 *
 * A leaf is *stale* when it is pristine transformer output (nobody edited it: its content still hashes to
 * its provenance) and every source revision it was translated from is the current source revision or an
 * ancestor of it, one of them strictly older. It holds nothing a user wrote, and the current source is (or
 * will be) translated on another leaf. {@link dropStaleTranslations} ends such leaves with a deterministic
 * tombstone (`divan: { ended: "stale" }`: it ends that leaf, not the entity), so every replica that decides
 * the same writes the same revision, and replication converges.
 *
 * A replica that has not yet received the newer source revision sees no stale leaf and leaves the conflict
 * alone; leaves with user edits are never touched (the transformer's conflict rule reports those). When
 * every leaf is stale, the winning one stays, for the transformer to bring up to date.
 */
import type { Doc, DocumentStore } from "../../store/port.js";
import { withDeterministicRev } from "../runner/canonical.js";
import { ending, isPristine, provenanceOf } from "./provenance.js";

/** A side's name (the provenance `from`) and the store holding its documents. */
export interface StaleScanSide {
  readonly name: string;
  readonly store: DocumentStore;
}

/** The revisions of a document's history, newest first (`_revisions` expanded to `<gen>-<hash>`). */
function historyOf(doc: Doc): string[] {
  const r = doc._revisions;
  if (r === undefined) return doc._rev === undefined ? [] : [doc._rev];
  return r.ids.map((id, i) => `${r.start - i}-${id}`);
}

/**
 * Ends every stale leaf (see the module comment) of the documents in the sides' stores with a
 * deterministic tombstone; returns how many. Scans each store once (`_all_docs` with conflicts), so it
 * belongs where a replica settles, not on every write.
 */
export async function dropStaleTranslations(sides: readonly StaleScanSide[]): Promise<number> {
  const storeOf = new Map(sides.map((s) => [s.name, s.store]));
  const current = new Map<DocumentStore, Map<string, Promise<Doc | undefined>>>();
  const currentOf = (store: DocumentStore, id: string): Promise<Doc | undefined> => {
    let docs = current.get(store);
    if (docs === undefined) current.set(store, (docs = new Map()));
    let found = docs.get(id);
    if (found === undefined) {
      found = store.get(id, { revs: true }).catch(() => undefined);
      docs.set(id, found);
    }
    return found;
  };
  const isStale = async (leaf: Doc): Promise<boolean> => {
    const p = provenanceOf(leaf);
    const source = p === undefined ? undefined : storeOf.get(p.from);
    if (p === undefined || source === undefined || !isPristine(leaf)) return false;
    let older = false;
    for (const [id, rev] of Object.entries(p.revs)) {
      const now = await currentOf(source, id);
      if (now === undefined) return false;
      const history = historyOf(now);
      if (!history.includes(rev)) return false;
      if (rev !== now._rev) older = true;
    }
    return older;
  };

  let dropped = 0;
  for (const store of new Set(sides.map((s) => s.store))) {
    const page = await store.allDocs({ includeDocs: true, conflicts: true });
    const tombstones: Doc[] = [];
    for (const row of page.rows) {
      const winner = row.doc;
      if (winner?._conflicts === undefined || winner._conflicts.length === 0) continue;
      const losers = await Promise.all(winner._conflicts.map((rev) => store.get(winner._id, { rev })));
      const leaves = [winner, ...losers];
      const stale: Doc[] = [];
      for (const leaf of leaves) if (await isStale(leaf)) stale.push(leaf);
      const ended = stale.length === leaves.length ? stale.slice(1) : stale; // the winner is leaves[0]
      for (const leaf of ended) tombstones.push(withDeterministicRev(ending({ _id: leaf._id, _rev: leaf._rev! }, "stale")));
    }
    if (tombstones.length > 0) {
      await store.bulkDocs(tombstones, { newEdits: false });
      dropped += tombstones.length;
    }
  }
  return dropped;
}
