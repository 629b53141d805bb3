/**
 * Which leaves of one document add nothing another leaf does not hold, told from their bodies alone ({@link covers}),
 * so that every replica ends the same ones. Browser-safe.
 */
import type { Doc } from "../../store/port.js";
import { basesOf } from "./bases.js";
import { sameContent } from "./canonical.js";
import { byRev } from "./merged.js";
import { keptOf } from "./undo.js";

/**
 * Whether leaf `x` holds everything leaf `y` holds: the same attributes, and of divan's provenance every attribute `y`
 * keeps at its ancestor's value on purpose (`divan.kept`), every old revision it records as a base, and the rest alike.
 */
export function covers(x: Doc, y: Doc): boolean {
  const [kx, bx] = [new Set(keptOf(x)), basesOf(x)];
  return sameContent(withoutCoverable(x), withoutCoverable(y)) && keptOf(y).every((k) => kx.has(k)) && Object.keys(basesOf(y)).every((q) => bx[q] !== undefined);
}

/** `doc` without the provenance a leaf that {@link covers} it may hold more of (its kept attributes and its bases). */
function withoutCoverable(doc: Doc): Doc {
  const divan = doc["divan"];
  if (typeof divan !== "object" || divan === null || Array.isArray(divan)) return doc;
  const { kept, bases, ...rest } = divan as Record<string, unknown>;
  void [kept, bases];
  return { ...doc, divan: rest };
}

/**
 * The leaves among `leaves` (one document's) whose content another one holds ({@link covers}): two replicas wrote the
 * same merge, or merges of the same inputs one of which records more. Such a leaf adds nothing and ends; of two that
 * hold each other, the older in revision order (mergeMigratedLeaves, `conflicts.ts`, keeps the newest too). Told from
 * the leaves' bodies alone, never from which merged branches' ends or older bodies a replica holds: every replica
 * that holds the leaves ends the same ones, and a leaf with a value no other one holds never ends here.
 */
function coveredLeaves(leaves: readonly Doc[]): Doc[] {
  if (leaves.length < 2) return [];
  return leaves.filter((y) => leaves.some((x) => x !== y && covers(x, y) && (!covers(y, x) || byRev(x, y) > 0)));
}

/**
 * Ends, in `docs` (each document type's live leaves), every leaf {@link coveredLeaves} finds: returns the tombstones to
 * write and leaves `docs` without them.
 */
export function endCoveredLeaves(docs: Map<string, Doc[]>): Doc[] {
  const writes: Doc[] = [];
  for (const [t, leaves] of docs) {
    const ended = coveredLeaves(leaves);
    if (ended.length === 0) continue;
    docs.set(t, leaves.filter((l) => !ended.includes(l)));
    for (const l of ended) writes.push({ _id: l._id, _rev: l._rev!, _deleted: true, divan: { merged: true } });
  }
  return writes;
}
