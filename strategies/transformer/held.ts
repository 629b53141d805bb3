/**
 * Whether a target holds the source's current revisions beside its own edits, so that the target is their merge
 * (pure, for the planner).
 */
import type { Doc } from "../../store/port.js";
import { isPristine, provenanceOf } from "./provenance.js";

/** A document the translation would change: its type and the target's current document. */
interface ChangedDoc {
  readonly type: string;
  readonly current: Doc | undefined;
}

/**
 * True when the target (`targetLive`) already holds the source's current revisions (`live`, of side `source`) with its
 * own edits beside them: another of its documents is a pristine translation of exactly those revisions, every
 * document the translation would change is a target edit (`unseen`), and each was made on what the source's current
 * revisions still translate to (`onCurrent`). The source's edits changed nothing those documents show, so the target
 * is the merge; comparing the revision generations of different documents would say nothing about which is newer.
 */
export function heldByTarget(
  source: string,
  live: Record<string, Doc>,
  targetLive: Record<string, Doc>,
  changed: readonly ChangedDoc[],
  unseen: readonly ChangedDoc[],
  onCurrent: (c: ChangedDoc) => boolean | undefined,
): boolean {
  const edited = new Set(changed.map((c) => c.type));
  const holds = Object.entries(targetLive).some(([t, d]) => {
    const p = provenanceOf(d);
    return !edited.has(t) && isPristine(d) && p?.from === source && Object.values(live).every((s) => p.revs[s._id] === s._rev);
  });
  return holds && changed.every((c) => unseen.includes(c)) && unseen.every((c) => onCurrent(c) === true);
}
