/**
 * Whether a target holds the source's current revisions beside its own edits (their merge), and which of its documents
 * record the source's edits: pure, for the planner.
 */
import type { Doc } from "../../store/port.js";
import type { EntityPlan, PlanInput } from "./plan-types.js";
import { isPristine, provenanceOf } from "./provenance.js";

/** A document the translation would change: its type and the target's current document. */
interface ChangedDoc {
  readonly type: string;
  readonly current: Doc | undefined;
}

/**
 * A no-op that translates the target's edits back, when the target (`targetLive`) already holds the source's current
 * revisions (`live`) with its own edits beside them: another of its documents is a pristine translation of exactly
 * those revisions, every document the translation would change is a target edit (`unseen`), and each was made on what
 * the source's current revisions still translate to (`onCurrent`). The source's edits changed nothing those documents show, so the target
 * is the merge; comparing the revision generations of different documents would say nothing about which is newer.
 * Otherwise `undefined`.
 */
export function heldByTarget(
  sides: { readonly source: string; readonly target: string },
  live: Record<string, Doc>,
  targetLive: Record<string, Doc>,
  changed: readonly ChangedDoc[],
  unseen: readonly ChangedDoc[],
  onCurrent: (c: ChangedDoc) => boolean | undefined,
): EntityPlan | undefined {
  const edited = new Set(changed.map((c) => c.type));
  const holds = Object.entries(targetLive).some(([t, d]) => {
    const p = provenanceOf(d);
    return !edited.has(t) && isPristine(d) && p?.from === sides.source && Object.values(live).every((s) => p.revs[s._id] === s._rev);
  });
  if (!holds || !changed.every((c) => unseen.includes(c)) || !unseen.every((c) => onCurrent(c) === true)) return undefined;
  return { kind: "noop", reason: `${sides.target} holds ${sides.source}'s current revisions beside its own edits; they flow from there`, translateBack: true };
}

/**
 * The target documents to write again as a record of the source's user edits (its documents that are not pristine):
 * none unless those edits were all made on the target's current revisions (their provenance from the target names
 * them, or the target's revision since is a pristine translation of the source), so nothing of the target is
 * concurrent with them; then those that do not name the edits' revisions in their provenance from the source. The
 * edits changed nothing the target shows, or it would have been translated.
 */
export function unrecordedIn(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>): Doc[] {
  const edits = Object.values(live).filter((s) => !isPristine(s));
  const onTarget = (s: Doc): boolean => {
    const p = provenanceOf(s);
    return p?.from === input.target && Object.values(targetLive).every((d) => p.revs[d._id] === d._rev || (isPristine(d) && provenanceOf(d)?.from === input.source));
  };
  if (edits.length === 0 || !edits.every(onTarget)) return [];
  return Object.values(targetLive).filter((d) => {
    const p = provenanceOf(d);
    return p?.from !== input.source || edits.some((s) => p.revs[s._id] !== s._rev);
  });
}
