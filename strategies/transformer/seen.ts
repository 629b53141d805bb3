/**
 * What one side's documents saw of the other side's: the revisions their provenance names, read against the ones the
 * other side holds (pure, for the planner).
 *
 * A translation's provenance names the revisions it was made from, and an app's edit of a translation keeps it: so a
 * document tells which revisions of the other side it was made on. That is the planner's evidence that a side saw an
 * edit of the other one (`plan.ts`); content alone is not, where an edit was undone since (A, B, then A again).
 */
import type { Entity } from "../../adapters/types.js";
import type { Doc } from "../../store/port.js";
import { compareRevs, isPristine, provenanceOf, revGeneration, sameUserContent } from "./provenance.js";

/** One earlier revision of a document: its revision, and its body where the store still has it (CouchDB compacts them). */
export interface EarlierRevision {
  readonly rev: string;
  readonly doc?: Doc;
}

/** Document id → its earlier revisions, newest first (the current one excluded). */
export type EarlierRevisions = Readonly<Record<string, readonly EarlierRevision[]>>;

/** Source document id → the newest of its revisions that `docs` (target documents) were translated from. */
export function translatedFrom(source: string, docs: readonly Doc[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of docs) {
    const p = provenanceOf(d);
    if (p === undefined || p.from !== source) continue;
    for (const [id, rev] of Object.entries(p.revs)) {
      const known = out.get(id);
      if (known === undefined || compareRevs(rev, known) > 0) out.set(id, rev);
    }
  }
  return out;
}

/** The other side's documents translated, by type, with `earlier` (an earlier revision of one of them) in its place. */
export type TranslateWith = (earlier?: Doc) => Entity | undefined;

/**
 * Whether `s` (a document of one side, or an earlier revision of one) was made on the other side's documents `docs` as
 * they are now: its provenance from `side` (the other side) names each at its current revision, or at an earlier one
 * after which every revision of it translates (`translate`) as the current one does (a group set on the new version,
 * seen from the old one). An edit the other side could see, undone since (A, B, then A again), was never seen by `s`,
 * though the current revision reads like the one it was made on. A document without provenance from `side`, or
 * naming none of `docs` at another revision, says nothing: true. `undefined` when that takes earlier revisions that
 * `history` does not give; false when one is not in it (another branch, too old) or its body is gone, unless `side`
 * translated each of its revisions as it made it (`bodiesGone`, `TransformerSide.translatedOnWrite`): then one
 * that read otherwise than the current one has a translation of its own, the revision `s` would have been made on.
 */
export function madeOnCurrent(side: string, s: Doc, docs: readonly Doc[], history: EarlierRevisions | undefined, translate: TranslateWith, bodiesGone?: boolean): boolean | undefined {
  const p = provenanceOf(s);
  if (p === undefined || p.from !== side) return true;
  const older = docs.filter((d) => p.revs[d._id] !== undefined && p.revs[d._id] !== d._rev);
  if (older.length === 0) return true;
  if (history === undefined) return undefined;
  const now = translate();
  return (
    now !== undefined &&
    older.every((d) => {
      const revs = history[d._id] ?? [];
      const i = revs.findIndex((r) => r.rev === p.revs[d._id]);
      return i >= 0 && revs.slice(0, i).every((r) => (r.doc === undefined ? bodiesGone === true : readsTheSame(now, translate(r.doc))));
    })
  );
}

/** The same documents by type, with the same user content. */
function readsTheSame(a: Entity, b: Entity | undefined): boolean {
  if (b === undefined || Object.keys(a).length !== Object.keys(b).length) return false;
  return Object.entries(a).every(([t, x]) => b[t] !== undefined && sameUserContent(x as Doc, b[t] as Doc));
}

/**
 * True when every source document is a pristine translation of target documents, and one of them names a revision
 * of a target document newer than the one the target holds: the target's newer revision has not reached this replica
 * yet (a device pushed its first document only, then was cut off), and translating the source back would overwrite
 * the target with what the translation kept of it (a blocked status read as not done is active again).
 */
export function translatedFromUnreceived(target: string, live: Readonly<Record<string, Doc>>, targetLive: Readonly<Record<string, Doc>>): boolean {
  const sources = Object.values(live);
  if (sources.length === 0 || !sources.every((s) => isPristine(s) && provenanceOf(s)?.from === target)) return false;
  const held = new Map(Object.values(targetLive).map((d) => [d._id, revGeneration(d._rev)]));
  return sources.some((s) => Object.entries(provenanceOf(s)!.revs).some(([id, rev]) => revGeneration(rev) > (held.get(id) ?? Number.POSITIVE_INFINITY)));
}
