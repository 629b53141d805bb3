/**
 * The three-way merge of target-shape entities that resolving a migration's conflicts runs ({@link merge3}).
 *
 * Per attribute, the side that changed it against the common ancestor wins; both changed it differently, a clash.
 * Pure and browser-safe.
 */
import type { Entity } from "../../adapters/types.js";
import { attributeHashes, valueHash, type AttributeHashes, type ChangedBack } from "./bases.js";
import { canonicalJson } from "./canonical.js";
import { changed, keptOf, withKept } from "./undo.js";

/** The revision fields of a document: not content. */
export const REV_FIELDS = new Set(["_rev", "_revisions", "_conflicts"]);

/**
 * A common ancestor at the target shape: for each document type, a hash of each attribute (`bases.ts`); `unknown`
 * when no replica that migrates holds it (the merge then cannot tell which side changed an attribute).
 */
export type AncestorHashes = Record<string, AttributeHashes>;

/** The hashes of an ancestor entity read in full. */
export function hashesOf(entity: Entity): AncestorHashes {
  const out: AncestorHashes = {};
  for (const [t, d] of Object.entries(entity)) out[t] = attributeHashes(d);
  return out;
}

/**
 * Three-way merge of target-shape entities: `ours` (the old edit translated up) and `theirs` (the stored
 * target documents) against `ancestor` (the common ancestor translated up, as attribute hashes). Returns the
 * merge with `theirs`' values where both changed an attribute, the same with `ours`' values, and the ids of the
 * documents where that happened. `divan` is provenance, not content: both results keep `theirs`'. With an
 * `unknown` ancestor every attribute the two sides hold differently counts as changed by both; so does one a side
 * holds at the ancestor's value after changing it back (`back`, per document type; see {@link changedBack}).
 * `back.theirsHeld`: the document types whose merge is written on a `theirs` leaf whose own history holds its side (it
 * grew from the ancestor): what that side changed back is read there again, so it marks nothing kept.
 */
export function merge3(
  ancestor: AncestorHashes | "unknown",
  ours: Entity,
  theirs: Entity,
  back: { readonly ours?: Readonly<Record<string, ChangedBack>>; readonly theirs?: Readonly<Record<string, ChangedBack>>; readonly theirsHeld?: ReadonlySet<string> } = {},
): { merged: Entity; oursSide: Entity; conflicted: Set<string> } {
  const merged: Entity = {};
  const oursSide: Entity = {};
  const conflicted = new Set<string>();
  const eq = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);
  for (const type of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    const o = ours[type];
    const t = theirs[type];
    if (o === undefined || t === undefined) {
      // One side has no such document (e.g. not replicated yet): take the one there is.
      const only = (o ?? t)!;
      merged[type] = only;
      oursSide[type] = only;
      continue;
    }
    const a = ancestor === "unknown" ? undefined : (ancestor[type] ?? {});
    const isAncestor = (k: string, v: unknown): boolean => a !== undefined && valueHash(v) === (a[k] ?? valueHash(undefined));
    const m: Record<string, unknown> = {};
    const s: Record<string, unknown> = {};
    const [keptM, keptS] = [new Set(keptOf(t)), new Set(keptOf(o))];
    for (const k of new Set([...Object.keys(o), ...Object.keys(t)])) {
      if (REV_FIELDS.has(k) || k === "_id" || k === "divan") continue;
      const [ov, tv] = [(o as Record<string, unknown>)[k], (t as Record<string, unknown>)[k]];
      let mv: unknown;
      let sv: unknown;
      // A side that holds the ancestor's value after changing it back did not leave it alone: a clash, not the other's.
      if (eq(ov, tv) || (isAncestor(k, ov) && !changed(back.ours?.[type], k))) {
        mv = sv = tv;
        // Both hold the ancestor's value and a side changed it back: its user's last value, kept as such (a later merge
        // against the same ancestor must not take it for untouched: the revisions that changed it are not in its history).
        // Not a change back the merge's history holds: a mark would outlive it, and clash with an edit made after it.
        const theirsBack = back.theirsHeld?.has(type) === true ? undefined : back.theirs?.[type];
        if (eq(ov, tv) && isAncestor(k, tv) && (changed(back.ours?.[type], k) || changed(theirsBack, k))) keptM.add(k);
      } else if (isAncestor(k, tv) && !changed(back.theirs?.[type], k)) mv = sv = ov;
      else {
        mv = tv;
        sv = ov;
        conflicted.add(type);
        // The side that holds the ancestor's value says it keeps it on purpose, so no later merge takes it for untouched;
        // so does the other side's conflicting revision whatever its value (it may be written on a revision that holds it).
        if (isAncestor(k, tv)) keptM.add(k);
        keptS.add(k);
      }
      if (mv !== undefined) m[k] = mv;
      if (sv !== undefined) s[k] = sv;
    }
    const divan = (t as Record<string, unknown>)["divan"];
    merged[type] = withKept({ ...m, ...(divan === undefined ? {} : { divan }), _id: t._id }, keptM) as Entity[string];
    oursSide[type] = withKept({ ...s, ...(divan === undefined ? {} : { divan }), _id: t._id }, keptS) as Entity[string];
  }
  return { merged, oursSide, conflicted };
}
