/**
 * The pure half of a transformer: which entity a document belongs to, and what translating it must write.
 *
 * The pure half of a transformer: which entity a document belongs to, and what translating one entity
 * from a source side to a target side must write (target-oriented, no loops, no loss).
 * No I/O, no clock: `planEntity` is a function of the documents it is given.
 *
 * ## Conflict rule (documented, deterministic)
 * Writing the translation of source side S into target side T is a *fast-forward* when every target
 * document it changes is either pristine (written by a transformer and not edited since) or was already
 * seen by S (one of S's documents carries provenance from T at that document's current revision, or
 * translating T's documents back to S's shape gives exactly S's content: S holds all of T's edit it can
 * represent, and the rest is kept because T is the translation's base).
 * Otherwise both sides hold edits the other has not seen: a conflict. The winner is the side whose
 * newest user edit (non-pristine document) wins CouchDB's revision order (higher generation, then higher
 * revision string); on a tie the side listed later (the newer version) wins. The winner's translation is
 * written into the loser's database as a new branch that wins there, and the loser's edit stays in that
 * database as a conflict revision (never dropped). The rule only looks at the two edits, so whichever
 * direction is processed first, the same side wins. Deletions win over concurrent edits, and a deleted
 * entity is never written again: a target tombstone is a deletion that flows the other way.
 *
 * Neither side's edit is concurrent when the target edited the translation of the source's *current*
 * revisions (its provenance names them): the target is newer, and its edit flows the other way. An older
 * source revision that reads like the target's edit (the source went A, B, A and the target B) is no
 * sign that the source saw it: only the revisions the target was translated from, and newer ones, count.
 * Nor is a side's edit made on the translation of an earlier revision of the other side's document that reads like
 * its current one, where that document went A, B, then A again since (`seen.ts`): the two edits are concurrent.
 */
import { isDivanError, messageOf } from "../../core/errors.js";
import { hasFault } from "../../core/faults.js";
import { heldByTarget, unrecordedIn } from "./held.js";
import { madeOnCurrent, translatedFrom, translatedFromUnreceived, type EarlierRevisions, type TranslateWith } from "./seen.js";
import type { Doc as AdapterDoc, Entity } from "../../adapters/types.js";
import type { Doc } from "../../store/port.js";
import type { EntityPlan, PlanInput, PlannedWrite } from "./plan-types.js";
import {
  PROVENANCE_FIELD,
  compareRevs,
  contentHash,
  isPristine,
  provenanceOf,
  revGeneration,
  sameUserContent,
  sourceHash,
  stableJson,
  userContent,
  type Provenance,
} from "./provenance.js";

export { familiesOf, familyOf, familyShape } from "../../adapters/families.js";
export { entityKey, type ConflictRecord, type EntityPlan, type EntityRef, type PlanInput, type PlannedWrite, type ReadDoc } from "./plan-types.js";

function stripProvenance(doc: Doc): AdapterDoc {
  const out: AdapterDoc = {};
  for (const k of Object.keys(doc)) if (k !== PROVENANCE_FIELD && k !== "_conflicts" && k !== "_revisions") out[k] = doc[k];
  return out;
}

/** The newest revision among `docs`, by CouchDB's order. */
function newest(revs: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const r of revs) if (best === undefined || compareRevs(r, best) > 0) best = r;
  return best;
}

/** A translated document that differs from the target's current one (`undefined`: the target holds none). */
interface Changed {
  readonly type: string;
  readonly doc: Doc;
  readonly current: Doc | undefined;
}

/**
 * Plans the translation of one entity from a source side into a target side.
 * Pure: decides from the documents given (see the module comment for the conflict rule).
 */
export function planEntity(input: PlanInput): EntityPlan {
  const read = readEntity(input);
  if ("kind" in read) return read;
  const { live, targetLive } = read;
  const fromTypes = Object.keys(input.from);

  // Translate, with the target's current documents as the base (no information loss). A target that
  // holds none is no base at all (as the runner passes it): an empty base only made the path try, and
  // fail with a caught exception, to walk it back through every step — the transformer's normal case.
  const src: Entity = {};
  for (const t of fromTypes) src[t] = stripProvenance(live[t]!);
  let base: Entity | undefined;
  for (const [t, d] of Object.entries(targetLive)) (base ??= {})[t] = stripProvenance(d);
  let out: Entity;
  try {
    out = input.path(src, base === undefined || hasFault(input.faults, "translate-without-base") ? undefined : { base });
  } catch (e) {
    const first = live[fromTypes[0]!]!;
    if (isDivanError(e, "STEP_FAILED") || isDivanError(e, "NO_PATH")) return { kind: "quarantine", id: first._id, rev: first._rev, reason: messageOf(e) };
    throw e;
  }

  const revs: Record<string, string> = {};
  for (const t of fromTypes) revs[live[t]!._id] = live[t]!._rev ?? "";
  const primary = live[fromTypes[0]!]!;
  const step = input.path.steps.length === 0 ? "identity" : input.path.steps.join(" / ");

  const finish = (doc: Doc): Doc => {
    // Written as a child of `_rev` (an update, or a winning branch beside it): one generation more.
    const provenance: Omit<Provenance, "hash"> = { from: input.source, id: primary._id, rev: primary._rev ?? "", revs, step, gen: revGeneration(doc._rev) + 1, src: sourceHash(Object.values(live)) };
    const body = { ...doc };
    return { ...body, [PROVENANCE_FIELD]: { ...provenance, hash: contentHash(body) } };
  };
  const changed = changedDocs(input, out, targetLive);
  // A source edit the target cannot show (a group set, a status the old version reads as before) is recorded there all
  // the same: else a later edit of the target, made after it, names no revision that holds it and looks concurrent.
  const unrecorded = changed.length === 0 ? unrecordedIn(input, live, targetLive) : [];
  if (unrecorded.length > 0) return { kind: "write", writes: unrecorded.map((d) => ({ doc: finish(stripProvenance(d) as Doc), mode: "update" as const })) };
  if (changed.length === 0) return { kind: "noop", reason: "the target already holds this translation" };
  // Fast-forward, or concurrent edits? A source document edited on the translation of an older revision of `d` did not see
  // `d`'s edit (two replicas' translations can win side by side), unless `d` translates back to what it was made on (`same`).
  let back: { readonly docs: ReturnType<typeof translatedBack> } | undefined; // the target translated back, once
  const seenBySource = (d: Doc): boolean => {
    const named = Object.entries(live).flatMap(([t, s]) => {
      const p = provenanceOf(s);
      return p !== undefined && p.from === input.target && p.revs[d._id] !== undefined ? [{ t, s, rev: p.revs[d._id], hash: p.hash }] : [];
    });
    const same = (n: (typeof named)[number]): boolean => { const b = (back ??= { docs: translatedBack(input, live, targetLive) }).docs?.[n.t]; return b !== undefined && contentHash(b) === n.hash; };
    return named.some((n) => n.rev === d._rev) && named.every((n) => n.rev === d._rev || isPristine(n.s) || same(n));
  };
  let unseen = changed.filter((c) => c.current !== undefined && !isPristine(c.current) && !seenBySource(c.current));
  // The target's edits were made on the translation of the source's current revisions: the target is newer.
  // So were they when the translation they were made on (its provenance `hash`) is what the source's current
  // revisions translate to: the source changed since only what the target cannot show (a group set on the
  // new version, seen from the old one), unless the target's edit changes that too (`strict`: see keptByTarget).
  const edited = unseen.map((c) => c.current!);
  const parents: EntityPlan = { kind: "need-parents", ids: Object.values(live).filter((d) => !isPristine(d)).map((d) => d._id), targetIds: historyIds(input, live, targetLive, edited) };
  const seen = translations(input, live, targetLive);
  let kept: boolean | undefined;
  const onCurrent = (t: string, d: Doc, strict = false): boolean | undefined => {
    const p = provenanceOf(d);
    if (p === undefined || p.from !== input.source) return false;
    if (Object.entries(revs).every(([id, rev]) => p.revs[id] === rev)) return true;
    const o = seen.forward()?.[t];
    if (o === undefined || p.hash !== contentHash({ ...(o as Doc), _id: d._id })) return false;
    if (!strict) return true;
    if (!(kept ??= keptByTarget(input, live, targetLive))) return false;
    // Unless the source changed since what the target can show, then back (A, B, then A again): `madeOnCurrent`.
    return madeOnCurrent(input.source, d, Object.values(live), input.revisions?.source, seen.forward, input.translatedOnWrite?.source);
  };
  const madeOnSource = unseen.map((c) => onCurrent(c.type, c.current!, true));
  if (unseen.length > 0 && madeOnSource.includes(undefined) && !madeOnSource.includes(false)) return parents;
  if (unseen.length > 0 && madeOnSource.every((n) => n === true)) {
    // Its other documents that are still translations of older source revisions (a device that upgraded
    // offline translated the newer revision the server had not) are brought up to date here, and the edit
    // is translated back once they are.
    const outdated = changed.filter((c) => c.current !== undefined && isPristine(c.current) && !onCurrent(c.type, c.current));
    if (outdated.length > 0) return { kind: "write", writes: outdated.map((c) => ({ doc: finish({ ...c.doc, _rev: c.current!._rev! }), mode: "update" as const })), translateBack: true };
    return { kind: "noop", reason: `${input.target} edited the translation of ${input.source}'s current revisions; the edit flows from there` };
  }
  if (mixedTranslation(input, live, targetLive)) {
    return { kind: "noop", reason: `${input.source} holds an edit of ${input.target}'s current revisions beside an outdated translation of older ones; ${input.target} is translated first` };
  }
  // Whichever way the source is shown to have seen the target's edits, writing it must not overwrite a field
  // the target's users changed (a value the source shape reads like the one it replaced looks seen from there;
  // changing that field on the source is still a concurrent edit of it).
  const keepsEdits = !overwritesEdits(input, live, targetLive, out, edited);
  // Made on the target's current documents, or on earlier revisions the source reads the same (`madeOnCurrent`).
  const onCurrentTarget = (s: Doc): boolean | undefined => madeOnCurrent(input.target, s, edited, input.revisions?.target, seen.back, input.translatedOnWrite?.target);
  if (unseen.length > 0 && keepsEdits && reflectedInSource(input, live, targetLive)) unseen = [];
  const onBase = unseen.length > 0 && keepsEdits && reflectedInBase(input, live, targetLive, translatedFrom(input.source, edited)) ? Object.values(live).map(onCurrentTarget) : [false];
  if (onBase.includes(undefined)) return parents;
  if (onBase.every((m) => m === true)) unseen = [];
  if (unseen.length > 0 && keepsEdits && invisibleToSource(input, live, targetLive, edited)) unseen = [];
  if (unseen.length > 0) {
    const anc = input.sourceAncestors;
    if (anc === undefined || input.revisions === undefined) return parents;
    // Only the source revisions the target's edits were translated from, and newer ones, can hold them: an
    // older one that happens to read the same (A, B, then A again) says nothing about the target's edit. Nor does
    // one without the target's provenance: a source user's own edit to the same value (both set done) saw nothing
    // of the target's, and the target's value is on no revision the source's current one descends from.
    const since = translatedFrom(input.source, edited);
    const depth = Math.max(0, ...Object.values(anc).map((a) => a.length));
    for (let i = 0; i < depth && unseen.length > 0; i++) {
      const before: Record<string, Doc> = { ...live };
      for (const [t, a] of Object.entries(anc)) {
        const newer = a.filter((d) => revGeneration(d._rev) >= revGeneration(since.get(d._id)) && provenanceOf(d)?.from === input.target && onCurrentTarget(d) === true);
        if (newer.length > 0) before[t] = newer[Math.min(i, newer.length - 1)]!;
      }
      if (keepsEdits && reflectedInSource(input, before, targetLive)) unseen = [];
    }
    if (unseen.length > 0 && keepsEdits && editedSince(input, live, targetLive, edited)) unseen = [];
  }
  if (unseen.length === 0) {
    // Documents it leaves as they are record it too (`unrecordedIn`): else a later edit of one names an older source revision.
    const kept = unrecordedIn(input, live, targetLive).filter((d) => !changed.some((c) => c.current?._id === d._id)).map((d) => finish(stripProvenance(d) as Doc));
    return { kind: "write", writes: [...changed.map((c) => finish(c.current?._rev === undefined ? c.doc : { ...c.doc, _rev: c.current._rev })), ...kept].map((doc) => ({ doc, mode: "update" as const })) };
  }
  return heldByTarget(input, live, targetLive, changed, unseen, (c) => onCurrent(c.type, c.current!)) ?? concurrentEdit(input, live, targetLive, changed, unseen, finish);
}

/**
 * Reads the entity's documents on both sides, or says why there is nothing to translate yet: deleted (the deletion is carried
 * over), no source documents, a target tombstone, a source document or target revision not arrived, or another version.
 */
function readEntity(input: PlanInput): { readonly live: Record<string, Doc>; readonly targetLive: Record<string, Doc> } | EntityPlan {
  const { sourceDocs, targetDocs, ids, entity } = input;
  const fromTypes = Object.keys(input.from);
  const live: Record<string, Doc> = {};
  const missing: string[] = [];
  let deleted = false;
  for (const t of fromTypes) {
    const r = sourceDocs[t];
    if (r === undefined || r.state === "missing") missing.push(r?.id ?? ids.format(t, entity.entityId, input.from[t]!));
    else if (r.state === "deleted") deleted = true;
    else live[t] = r.doc;
  }
  const targetLive: Record<string, Doc> = {};
  for (const [t, r] of Object.entries(targetDocs)) if (r.state === "live") targetLive[t] = r.doc;

  if (deleted) {
    // Tombstones keep their type and version: a filtered replication (a channel) then passes each one
    // to the devices of its own version only, where a bare tombstone would have to reach every device.
    const writes: PlannedWrite[] = Object.entries(targetLive).map(([t, d]) => ({
      doc: { _id: d._id, _rev: d._rev!, _deleted: true, [input.typeField]: t, [input.versionField]: d[input.versionField] },
      mode: "update" as const,
    }));
    return writes.length === 0 ? { kind: "noop", reason: "deleted on both sides" } : { kind: "write", writes };
  }
  if (Object.keys(live).length === 0) return { kind: "noop", reason: "no source documents" };
  // An entity is never created again once deleted: a target tombstone is a deletion the source has not
  // received yet (it flows from there, and wins over a concurrent edit), not room for a new translation.
  const gone = Object.values(targetDocs).find((r) => r.state === "deleted");
  if (gone !== undefined) return { kind: "noop", reason: `${input.target} deleted ${gone.id}; the deletion flows from there` };
  if (missing.length > 0) return { kind: "wait", missing };
  if (translatedFromUnreceived(input.target, live, targetLive)) return { kind: "noop", reason: `${input.source} translates ${input.target} revisions not received yet; they flow from there` };

  for (const t of fromTypes) {
    const d = live[t]!;
    if (d[input.versionField] !== input.from[t]) {
      return {
        kind: "quarantine",
        id: d._id,
        rev: d._rev,
        reason: `${d._id} has ${input.versionField} ${JSON.stringify(d[input.versionField])}, but ${input.source} holds ${t}@${String(input.from[t])}`,
      };
    }
  }
  return { live, targetLive };
}

/** The translated documents `out` that differ from what the target holds, each with the target's current document. */
function changedDocs(input: PlanInput, out: Entity, targetLive: Record<string, Doc>): Changed[] {
  const { ids, entity } = input;
  const changed: Changed[] = [];
  for (const [t, v] of Object.entries(input.to)) {
    const o = out[t];
    if (o === undefined) continue;
    const id = ids.format(t, entity.entityId, v);
    const doc: Doc = { ...(o as Doc), _id: id };
    delete doc._rev;
    delete doc._deleted;
    const current = targetLive[t];
    if (current !== undefined && sameUserContent(doc, current)) continue;
    changed.push({ type: t, doc, current });
  }
  return changed;
}

/**
 * The target holds edits (`unseen`) the source has not seen, nor the source's edits reflect: the newer edit wins
 * (CouchDB's revision order, then the sides' ranks); when the source's does, its translation is written as a
 * winning branch and the conflict reported.
 */
function concurrentEdit(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>, changed: readonly Changed[], unseen: readonly Changed[], finish: (doc: Doc) => Doc): EntityPlan {
  const { entity } = input;
  const sourceEdit = newest(Object.values(live).filter((d) => !isPristine(d)).map((d) => d._rev ?? ""));
  if (sourceEdit === undefined) {
    // The source only carries older transformer output: the target's edit is newer and flows the other way.
    return { kind: "noop", reason: `${input.target} holds an edit ${input.source} has not seen; it flows from there` };
  }
  if (editsInvisibleToTarget(input, live, targetLive) || invisibleBySource(input, live, targetLive)) {
    // The source's edits changed only what the target cannot show (a group set on the new version, seen from the
    // old one): its translation would only put back the older source revision it was made from. The target's edit
    // flows the other way, onto the source's documents as base, and keeps both.
    return { kind: "noop", reason: `${input.source}'s edits are invisible to ${input.target}; ${input.target}'s edit flows from there` };
  }
  const targetEdit = newest(unseen.map((c) => c.current!._rev ?? ""))!;
  const order = compareRevs(sourceEdit, targetEdit) || input.sourceRank - input.targetRank;
  if (order <= 0) return { kind: "noop", reason: `concurrent edit: ${input.target}@${targetEdit} wins over ${input.source}@${sourceEdit}`, translateBack: true };
  const loserRevs: Record<string, string> = {};
  for (const c of unseen) loserRevs[c.current!._id] = c.current!._rev ?? "";
  const unseenIds = new Set(unseen.map((c) => c.type));
  return {
    kind: "write",
    writes: changed.map((c) =>
      unseenIds.has(c.type)
        ? { doc: finish({ ...c.doc, _rev: c.current!._rev! }), mode: "branch" as const }
        : { doc: finish(c.current?._rev === undefined ? c.doc : { ...c.doc, _rev: c.current._rev }), mode: "update" as const },
    ),
    conflict: { family: entity.family, entityId: entity.entityId, winner: input.source, winnerRev: sourceEdit, loser: input.target, loserRevs },
  };
}

/**
 * True when translating the target's current documents back to the source shape (with the source as
 * base) gives exactly the source's content: the source already holds everything of the target's edit
 * that it can represent, so writing the source's translation loses nothing (the target is its base).
 */
function reflectedInSource(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>): boolean {
  const back = translatedBack(input, live, targetLive);
  return back !== undefined && Object.keys(input.from).every((t) => {
    const b = back[t];
    return b !== undefined && sameUserContent(b, live[t]!);
  });
}

/**
 * True when the target's current documents, translated back (with the source as base), give for every
 * source document either its content or exactly what a transformer wrote there before users edited it (the
 * provenance `hash`, written from the target at a source generation no older than `since`, the source
 * revisions the target's edits were translated from): the source was edited on top of the target's current
 * state. Its ancestors would show it ({@link PlanInput.sourceAncestors}), but a replica that received only
 * the edited revision (a device that joined later) holds no ancestor bodies.
 */
function reflectedInBase(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>, since: ReadonlyMap<string, string>): boolean {
  const back = translatedBack(input, live, targetLive);
  return back !== undefined && Object.keys(input.from).every((t) => {
    const b = back[t];
    const s = live[t]!;
    if (b === undefined) return false;
    if (sameUserContent(b, s)) return true;
    const p = provenanceOf(s);
    return p !== undefined && p.from === input.target && p.gen !== undefined && p.gen >= revGeneration(since.get(s._id)) && p.hash === contentHash(b);
  });
}

/**
 * True when the source's current revisions descend ({@link PlanInput.revisions}) from those a target document was
 * translated from whose content (its provenance `src`) is the target's documents translated back: the source's edits
 * are a fast-forward of the target's. A document other than an edited one (a status translated from a later revision
 * than the edited title) proves it only where that edit changed nothing the source shows ({@link invisibleEdit}):
 * else the values merely agree (two users set done, one never saw the other's).
 */
function editedSince(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>, edited: readonly Doc[]): boolean {
  const history = input.revisions?.source;
  const back = history === undefined ? undefined : translatedBack(input, live, targetLive);
  if (back === undefined || Object.keys(input.from).some((t) => back[t] === undefined)) return false;
  const descends = (id: string, rev: string): boolean => Object.values(live).some((d) => d._id === id && d._rev === rev) || inHistory(history, id, rev);
  const proofs = Object.values(targetLive).filter((d) => {
    const p = provenanceOf(d);
    return p?.from === input.source && p.src === sourceHash(Object.values(back)) && Object.entries(p.revs).every(([id, rev]) => descends(id, rev));
  });
  return proofs.length > 0 && edited.every((d) => proofs.includes(d) || invisibleEdit(input, live, targetLive, d, back));
}

/**
 * True when the target's edit of `d` changed nothing the source shows: with the translation of the source revisions `d`
 * names in its place (bodies from the source's history; false where one is gone), the target translates back as `back`.
 */
function invisibleEdit(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>, d: Doc, back: Record<string, Doc>): boolean {
  const p = provenanceOf(d);
  const t = Object.keys(targetLive).find((k) => targetLive[k] === d);
  if (p === undefined || p.from !== input.source || t === undefined) return false;
  const src: Entity = {};
  for (const [k, s] of Object.entries(live)) {
    const rev = p.revs[s._id] ?? s._rev;
    const body = rev === s._rev ? s : input.revisions?.source?.[s._id]?.find((r) => r.rev === rev)?.doc;
    if (body === undefined) return false;
    src[k] = stripProvenance(body);
  }
  let made: AdapterDoc | undefined;
  try {
    made = input.path(src, undefined)[t];
  } catch {
    return false;
  }
  const before = made === undefined ? undefined : translatedBack(input, live, { ...targetLive, [t]: { ...(made as Doc), _id: d._id } });
  return before !== undefined && Object.keys(input.from).every((k) => before[k] !== undefined && sameUserContent(before[k]!, back[k]!));
}

/**
 * True when the source is a mix: one of its documents was edited on the translation of the target's current
 * revision of a document (its provenance names it), while another is still a pristine translation of an
 * older revision of that document whose content the current one changes. Translating it would take the
 * outdated part for an edit; the target's revision is translated into the source first.
 */
function mixedTranslation(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>): boolean {
  const current = new Map(Object.values(targetLive).map((d) => [d._id, d._rev]));
  const named = (id: string, rev: string | undefined): boolean => Object.values(live).some((s) => { const p = provenanceOf(s); return p?.from === input.target && p.revs[id] === rev; });
  const outdated = Object.entries(live).filter(([, s]) => {
    const p = provenanceOf(s);
    return p?.from === input.target && isPristine(s) && Object.entries(p.revs).some(([id, rev]) => current.has(id) && current.get(id) !== rev && named(id, current.get(id)));
  });
  if (outdated.length === 0) return false;
  const back = translatedBack(input, live, targetLive);
  return back !== undefined && outdated.some(([t, s]) => back[t] !== undefined && !sameUserContent(back[t]!, s));
}

/**
 * The target's current documents translated back to the source shape and forward again without a base: what a
 * transformer wrote from the source before any target edit, when the provenance hashes match it; undefined when
 * the round trip cannot be made.
 */
function roundTrip(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>): Entity | undefined {
  const back = translatedBack(input, live, targetLive);
  if (back === undefined || Object.keys(input.from).some((t) => back[t] === undefined)) return undefined;
  const src: Entity = {};
  for (const [t, d] of Object.entries(back)) src[t] = stripProvenance(d);
  try {
    return input.path(src, undefined);
  } catch {
    return undefined;
  }
}

/**
 * True when the target's edits of `edited` changed nothing the source shape can show (a group set on the new
 * version, which the old one has no field for): the target's current documents, translated back to the
 * source shape and forward again without a base, give exactly what a transformer wrote from the source before
 * the edits (each document's provenance `hash`). Translating the source with the target as base then keeps
 * those edits, so there is nothing to conflict with, even where no ancestor shows that the source saw them.
 */
function invisibleToSource(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>, edited: readonly Doc[]): boolean {
  if (!edited.every((d) => provenanceOf(d)?.from === input.source)) return false;
  const again = roundTrip(input, live, targetLive);
  if (again === undefined) return false;
  return edited.every((d) => {
    const t = Object.entries(targetLive).find(([, x]) => x === d)?.[0];
    const o = t === undefined ? undefined : again[t];
    // A document edited back to what the transformer wrote (A, B, then A) was set by a user field by field.
    return o !== undefined && provenanceOf(d)!.hash === contentHash({ ...(o as Doc), _id: d._id }) && provenanceOf(d)!.hash !== contentHash(d);
  });
}

/**
 * True when every edited (not pristine) source document was edited only where the target shape cannot show it:
 * translated to the target shape and back without a base, it gives exactly what a transformer wrote from the
 * target before the edit (its provenance `hash`), and its content differs from that (a document edited back to
 * what the transformer wrote, A then B then A, was set by a user field by field: it is no proof), and the
 * target's edit keeps them ({@link keptByTarget}).
 */
function editsInvisibleToTarget(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>): boolean {
  const edited = Object.entries(live).filter(([, d]) => !isPristine(d));
  if (edited.some(([, d]) => provenanceOf(d)?.from !== input.target || provenanceOf(d)!.hash === contentHash(d))) return false;
  const src: Entity = {};
  for (const [t, d] of Object.entries(live)) src[t] = stripProvenance(d);
  let again: Entity;
  try {
    again = input.reversePath(input.path(src, undefined), undefined);
  } catch {
    return false;
  }
  return (
    edited.every(([t, d]) => {
      const o = again[t];
      return o !== undefined && provenanceOf(d)!.hash === contentHash({ ...(o as Doc), _id: d._id });
    }) && keptByTarget(input, live, targetLive)
  );
}

/**
 * {@link editsInvisibleToTarget} where the round trip cannot tell (a field users set before the translation): the
 * source's documents translated to the target shape give exactly the target content they were translated from
 * (the provenance `src`), and the target's current revisions descend from those (their histories,
 * {@link PlanInput.revisions}, asked for with the source's ancestors: {@link historyIds}), and the target's edit keeps
 * the source's.
 */
function invisibleBySource(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>): boolean {
  const edited = Object.values(live).filter((d) => !isPristine(d));
  if (edited.length === 0 || edited.some((d) => provenanceOf(d)?.from !== input.target || provenanceOf(d)!.src === undefined)) return false;
  const src: Entity = {};
  for (const [t, d] of Object.entries(live)) src[t] = stripProvenance(d);
  let down: Entity;
  try {
    down = input.path(src, undefined);
  } catch {
    return false;
  }
  const docs = Object.entries(down).map(([t, o]) => ({ ...(o as Doc), _id: input.ids.format(t, input.entity.entityId, input.to[t]!) }));
  if (edited.some((d) => provenanceOf(d)!.src !== sourceHash(docs))) return false;
  const current = new Map(Object.values(targetLive).map((d) => [d._id, d._rev]));
  const revs = edited.flatMap((d) => Object.entries(provenanceOf(d)!.revs)).filter(([id, rev]) => current.get(id) !== rev);
  if (revs.length === 0) return keptByTarget(input, live, targetLive);
  return revs.every(([id, rev]) => inHistory(input.revisions?.target, id, rev)) && keptByTarget(input, live, targetLive);
}

/**
 * The target documents whose earlier revisions a plan asks for with the source's ancestors (`need-parents`): those
 * holding the target's edits (`edited`, for `madeOnCurrent`), and those the source's edits were translated from at an
 * earlier revision than their current one ({@link invisibleBySource}).
 */
function historyIds(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>, edited: readonly Doc[]): string[] {
  const current = new Map(Object.values(targetLive).map((d) => [d._id, d._rev]));
  const named = Object.values(live).flatMap((d) => {
    const p = provenanceOf(d);
    return isPristine(d) || p?.from !== input.target ? [] : Object.entries(p.revs).filter(([id, rev]) => current.has(id) && current.get(id) !== rev).map(([id]) => id);
  });
  return [...new Set([...edited.map((d) => d._id), ...named])];
}

/** Whether `rev` is an earlier revision of document `id` in `history`. */
function inHistory(history: EarlierRevisions | undefined, id: string, rev: string): boolean {
  return history?.[id]?.some((r) => r.rev === rev) ?? false;
}

/**
 * True when the target's documents, translated onto the source's as base (what translating the target into the
 * source writes), keep every field users changed on the source's edited documents ({@link overwritesEdits} seen
 * from the target). A source edit the target cannot show is no reason to let the target's edit flow back when that
 * edit changes the same field (done set on the old version, a status blocked on the new one, which the old version
 * reads as not done): it is a concurrent edit of that field, which the rule decides. Else each direction leaves the
 * other to decide, and the two versions never converge.
 */
function keptByTarget(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>): boolean {
  const back = translatedBack(input, live, targetLive);
  if (back === undefined) return true; // the target cannot be translated yet: it waits there, and overwrites nothing
  const other: PlanInput = { ...input, source: input.target, target: input.source, from: input.to, to: input.from, path: input.reversePath, reversePath: input.path };
  return !overwritesEdits(other, targetLive, live, back, Object.values(live).filter((d) => !isPristine(d)));
}

/**
 * True when the translation `out` changes a field that users changed on one of the target documents `edited`:
 * a field where the document differs from what a transformer wrote before the edits. That original is known
 * when it is what the target's documents give translated back and forward again without a base (its
 * provenance `hash` says so); otherwise nothing is known and the answer is false.
 */
function overwritesEdits(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>, out: Entity, edited: readonly Doc[]): boolean {
  if (edited.length === 0) return false;
  const again = roundTrip(input, live, targetLive);
  if (again === undefined) return false;
  return edited.some((d) => {
    const t = Object.entries(targetLive).find(([, x]) => x === d)?.[0];
    const o = t === undefined ? undefined : again[t];
    const w = t === undefined ? undefined : out[t];
    const p = provenanceOf(d);
    if (o === undefined || w === undefined || p === undefined || p.from !== input.source || p.hash !== contentHash({ ...(o as Doc), _id: d._id })) return false;
    const mine = userContent(d);
    const was = userContent({ ...(o as Doc), _id: d._id });
    const now = userContent({ ...(w as Doc), _id: d._id });
    // Edited back to what the transformer wrote (A, B, then A): every field may be one a user set again.
    const reset = p.hash === contentHash(d);
    return [...new Set([...Object.keys(mine), ...Object.keys(was)])].some((k) => (reset || stableJson(mine[k]) !== stableJson(was[k])) && stableJson(now[k]) !== stableJson(mine[k]));
  });
}

/** `madeOnCurrent`'s translations (an earlier revision of a document in its place): the target's back onto the source's, the source's forward. */
function translations(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>): { back: TranslateWith; forward: TranslateWith } {
  const swap = (docs: Record<string, Doc>, earlier?: Doc): Record<string, Doc> => Object.fromEntries(Object.entries(docs).map(([t, d]) => [t, d._id === earlier?._id ? earlier : d]));
  const forward: TranslateWith = (earlier) => {
    try {
      return input.path(Object.fromEntries(Object.entries(swap(live, earlier)).map(([t, d]) => [t, stripProvenance(d)])), undefined);
    } catch {
      return undefined;
    }
  };
  return { back: (earlier) => translatedBack(input, live, swap(targetLive, earlier)), forward };
}

/** The target's current documents translated back to the source shape with the source as base, each with its source id (`undefined` when the target lacks one or the path fails). */
function translatedBack(input: PlanInput, live: Record<string, Doc>, targetLive: Record<string, Doc>): Record<string, Doc> | undefined {
  const tgt: Entity = {};
  for (const t of Object.keys(input.to)) {
    const d = targetLive[t];
    if (d === undefined) return undefined;
    tgt[t] = stripProvenance(d);
  }
  const base: Entity = {};
  for (const [t, d] of Object.entries(live)) base[t] = stripProvenance(d);
  let back: Entity;
  try {
    back = input.reversePath(tgt, { base });
  } catch {
    return undefined;
  }
  const out: Record<string, Doc> = {};
  for (const t of Object.keys(input.from)) {
    const b = back[t];
    const s = live[t];
    if (b !== undefined && s !== undefined) out[t] = { ...(b as Doc), _id: s._id };
  }
  return out;
}

