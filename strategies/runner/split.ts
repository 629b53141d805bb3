/**
 * Documents an in-place migration splits off, recorded on the document they were split from, so that a replica holding
 * that document without them can write them itself. Browser-safe.
 *
 * Replication carries documents one by one: a device that migrated an entity may push its main document and be cut off
 * before a document the migration split off it (a 1→2 split creates one). Another device then holds the main document
 * alone, and its app neither reads nor edits the entity; it never held the old revision, so it cannot translate it
 * again. With deterministic revisions the migration's documents are a function of their content, so the translated
 * document records the documents it split off (`divan.split`, each as written, without revision); a replica that holds it without one of them writes that
 * one with the same revision the migration gave it. When the migrating device's copy arrives it is the same revision:
 * no conflict, and later revisions of it build on it.
 */
import { DivanError } from "../../core/errors.js";
import type { Doc, DocumentStore, Seq } from "../../store/port.js";
import { withDeterministicRev } from "./canonical.js";

/** The documents `doc` records as split off it by its migration (none when it records none). */
export function splitOf(doc: Readonly<Record<string, unknown>>): Doc[] {
  const divan = doc["divan"];
  const split = typeof divan === "object" && divan !== null ? (divan as { split?: unknown }).split : undefined;
  return Array.isArray(split) ? split.filter((d): d is Doc => typeof d === "object" && d !== null && typeof (d as Doc)._id === "string") : [];
}

/**
 * An in-place translation's writes (`docs`, each `doc` as it will be written with a deterministic revision; `inputs`,
 * the ids of the documents translated) with every document that already exists recording the ones created next to it.
 * Nothing is recorded where a created document has attachments (its revision is not derived from its content).
 */
export function recordingSplit<W extends { doc: Doc }>(writes: readonly W[], inputs: ReadonlySet<string>): W[] {
  const created = writes.filter((w) => w.doc._rev === undefined && w.doc._deleted !== true && !inputs.has(w.doc._id)).map((w) => w.doc);
  if (created.length === 0 || created.some((d) => d._attachments !== undefined)) return [...writes];
  return writes.map((w) => {
    if (w.doc._deleted === true || !inputs.has(w.doc._id)) return w;
    const divan = w.doc["divan"];
    const rest = typeof divan === "object" && divan !== null && !Array.isArray(divan) ? (divan as Record<string, unknown>) : {};
    return { ...w, doc: { ...w.doc, divan: { ...rest, split: created } } };
  });
}

/** Changes read per request. */
const PAGE = 500;

/**
 * Writes, in `store`, every document a live document records as split off it (`divan.split`) that `store` has never
 * held (not even deleted), with the revision the migration gave it; returns their ids. Run after a sync, before the app
 * reads. With `since`, only documents changed after that sequence are looked at (the others were looked at before);
 * the feed is read page by page, never the whole database at once.
 */
export async function completeSplit(store: DocumentStore, since?: Seq): Promise<string[]> {
  const written: string[] = [];
  let at = since;
  for (;;) {
    const page = await store.changes({ ...(at === undefined ? {} : { since: at }), includeDocs: true, limit: PAGE });
    const wanted = new Map<string, Doc>();
    for (const c of page.results) if (c.doc !== undefined && c.doc._deleted !== true) for (const d of splitOf(c.doc)) wanted.set(d._id, d);
    if (wanted.size > 0) {
      const held = await store.allDocs({ keys: [...wanted.keys()] });
      const missing = held.rows.filter((r) => r.value === undefined && wanted.has(r.key)).map((r) => wanted.get(r.key)!);
      const results = missing.length === 0 ? [] : await store.bulkDocs(missing.map((d) => withDeterministicRev({ ...d })), { newEdits: false });
      for (const r of results) {
        if (!r.ok) throw new DivanError(r.error.code, `Could not write ${r.id}, split off a migrated document: ${r.error.reason}`, { details: { id: r.id } });
      }
      written.push(...missing.map((d) => d._id));
    }
    if (page.results.length < PAGE) return written;
    at = page.lastSeq;
  }
}
