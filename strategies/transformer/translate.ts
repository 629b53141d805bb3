/**
 * The translation of a batch of entities from one side into others: both sides' documents read with one
 * request each, every entity planned (`plan.ts`), and the updates written with one `_bulk_docs` per target.
 */
import { isDivanError, messageOf } from "../../core/errors.js";
import { sameShape } from "../../adapters/types.js";
import type { Doc, DocumentStore, WriteResult } from "../../store/port.js";
import type { Registry } from "../../schemas/registry.js";
import {
  entityKey,
  familyShape,
  planEntity,
  type EntityPlan,
  type EntityRef,
  type PlannedWrite,
  type PlanInput,
  type ReadDoc,
} from "./plan.js";
import { recordingSplit } from "../runner/split.js";
import { compareRevs, isDeletion, isPristine, provenanceOf, revGeneration } from "./provenance.js";
import type { EarlierRevision } from "./seen.js";
import { isOwnOutput, MAX_RECORDS, targets, type TransformerState } from "./state.js";
import type { QuarantineEntry, TransformerSide } from "./types.js";
import { RETRYABLE, sourceDoc, winningBranch, writeDeterministic, writeFailed, type WriteFailure } from "./write.js";

/**
 * The documents of `entities` in `side`, and those of the entities it holds something of to translate:
 * a document that is not pristine transformer output, or a tombstone.
 */
export async function touched(state: TransformerState, side: TransformerSide, entities: readonly EntityRef[]): Promise<{ active: EntityRef[]; docs: Map<string, Record<string, ReadDoc>>; known: Map<string, ReadDoc> }> {
  const docs = await readDocs(state, side, entities);
  const known = new Map<string, ReadDoc>();
  const own: EntityRef[] = [];
  const active = entities.filter((e) => {
    const found = Object.values(docs.get(entityKey(e)) ?? {});
    for (const r of found) if (r.state !== "missing") known.set(r.state === "live" ? r.doc._id : r.id, r);
    const moved = found.some((r) => r.state === "deleted" || (r.state === "live" && !isOwnOutput(state, r.doc)));
    if (!moved && found.some((r) => r.state === "live")) own.push(e);
    return moved;
  });
  // Output translated from documents this replica never received (a device that upgraded offline holds only the old
  // version's translation of what a new-app device created) is translated like any document while no other side
  // holds a document of the entity, as a back-fill would: else the app of that other side could not read it here.
  if (own.length > 0) {
    const elsewhere = new Set<string>();
    for (const other of state.sides) {
      if (other === side) continue;
      for (const [k, found] of await readDocs(state, other, own)) if (Object.values(found).some((r) => r.state !== "missing")) elsewhere.add(k);
    }
    active.push(...own.filter((e) => !elsewhere.has(entityKey(e))));
  }
  return { active, docs, known };
}

/** Translates the waiting entities again (those whose failed write backs off excepted); returns the documents written. */
export async function retryWaiting(state: TransformerState): Promise<number> {
  state.lastRetry = state.now();
  const before = state.writes;
  const bySide = new Map<string, EntityRef[]>();
  for (const [k, w] of state.waiting) {
    if ((state.failures.get(k)?.dueAt ?? 0) > state.lastRetry) continue; // a failed write backs off
    bySide.set(w.side, [...(bySide.get(w.side) ?? []), w.entity]);
  }
  for (const [name, ents] of bySide) {
    const side = state.sides.find((s) => s.name === name);
    if (side !== undefined) await translate(state, side, ents, targets(state, side));
  }
  return state.writes - before;
}

/**
 * Earlier revisions (newest first) of the listed live documents of `docs`, by document id: every revision of the current
 * one's history (`_revisions`), the newest 20 with their bodies where the store still has them (CouchDB's compaction
 * keeps the bodies of leaves only).
 */
async function earlierRevisions(side: TransformerSide, docs: Readonly<Record<string, ReadDoc>>, ids?: readonly string[]): Promise<Record<string, EarlierRevision[]>> {
  const out: Record<string, EarlierRevision[]> = {};
  for (const r of Object.values(docs)) {
    if (r.state !== "live" || (ids !== undefined && !ids.includes(r.doc._id))) continue;
    const revs = (await side.store.get(r.doc._id, { revs: true }))._revisions;
    if (revs === undefined) continue;
    const wanted = revs.ids.slice(1, 21).map((h, i) => ({ id: r.doc._id, rev: `${revs.start - 1 - i}-${h}` }));
    const found = new Map((wanted.length === 0 ? [] : await side.store.bulkGet(wanted)).flatMap((f) => ("ok" in f && f.ok._deleted !== true ? [[f.ok._rev, f.ok] as const] : [])));
    out[r.doc._id] = revs.ids.slice(1).map((h, i) => {
      const rev = `${revs.start - 1 - i}-${h}`;
      const doc = found.get(rev);
      return doc === undefined ? { rev } : { rev, doc };
    });
  }
  return out;
}

/**
 * What a plan that asked for them (`need-parents`) needs: the earlier revisions of the source's edited documents whose
 * bodies the store still has, by type (`sourceAncestors`), and the histories of every source document and of the target's
 * documents `targetIds`, by id (`revisions`): one read of each document's history, one of its bodies.
 */
async function parentsOf(source: TransformerSide, target: TransformerSide, input: PlanInput, ids: readonly string[], targetIds: readonly string[]): Promise<Pick<PlanInput, "sourceAncestors" | "revisions">> {
  const [sources, targets] = await Promise.all([earlierRevisions(source, input.sourceDocs), earlierRevisions(target, input.targetDocs, targetIds)]);
  const sourceAncestors: Record<string, Doc[]> = {};
  for (const [t, r] of Object.entries(input.sourceDocs)) {
    if (r.state === "live" && ids.includes(r.doc._id)) sourceAncestors[t] = (sources[r.doc._id] ?? []).flatMap((e) => (e.doc === undefined ? [] : [e.doc]));
  }
  return { sourceAncestors, revisions: { source: sources, target: targets } };
}

/**
 * The documents of `entities` in `side` by entity key and type: those in `known` (documents of this
 * side's store the changes feed carried) as they are, the others with one `_all_docs?keys` request.
 */
export async function readDocs(state: TransformerState, side: TransformerSide, entities: readonly EntityRef[], known?: ReadonlyMap<string, ReadDoc>): Promise<Map<string, Record<string, ReadDoc>>> {
  const keys: string[] = [];
  const wanted: [string, string, string][] = [];
  for (const e of entities) {
    for (const [t, v] of Object.entries(familyShape(state.families, side.shape, e.family))) {
      const id = state.ids.format(t, e.entityId, v);
      if (known?.has(id) !== true) keys.push(id);
      wanted.push([entityKey(e), t, id]);
    }
  }
  const out = new Map<string, Record<string, ReadDoc>>();
  if (wanted.length === 0) return out;
  const page = keys.length === 0 ? { rows: [] } : await side.store.allDocs({ keys, includeDocs: true });
  const rows = new Map(page.rows.map((r) => [r.key, r]));
  for (const [k, t, id] of wanted) {
    const r = rows.get(id);
    const given = known?.get(id);
    let doc: ReadDoc;
    if (given !== undefined) doc = given;
    else if (r?.doc) doc = { state: "live", doc: r.doc };
    else if (r?.value?.deleted === true) doc = { state: "deleted", id, rev: r.value.rev };
    else doc = { state: "missing", id };
    // A retired side's document removed by its retirement is gone, not deleted: the entity lives on.
    if (doc.state === "deleted" && state.retired.has(side.name) && !(await deletedByUser(side.store, id))) doc = { state: "missing", id };
    const m = out.get(k) ?? {};
    m[t] = doc;
    out.set(k, m);
  }
  return out;
}

/** Those of `entities` a document of which `side` holds deleted by a deletion (see `isDeletion`), not only ended. */
export async function deletedEntities(state: TransformerState, side: TransformerSide, entities: readonly EntityRef[]): Promise<EntityRef[]> {
  const docs = await readDocs(state, side, entities);
  const out: EntityRef[] = [];
  for (const e of entities) {
    const found = Object.values(docs.get(entityKey(e)) ?? {});
    for (const r of found) {
      if (r.state !== "deleted" || !(await deletedByUser(side.store, r.id))) continue;
      out.push(e);
      break;
    }
  }
  return out;
}

/** Whether one of the deleted leaves of document `id` is a deletion (see `isDeletion`), not only tombstones that end it. */
async function deletedByUser(store: DocumentStore, id: string): Promise<boolean> {
  const leaves = (await store.changes({ docIds: [id], style: "all_docs" })).results.flatMap((c) => c.changes.map((x) => ({ id, rev: x.rev })));
  const found = leaves.length === 0 ? [] : await store.bulkGet(leaves);
  return found.some((f) => "ok" in f && isDeletion(f.ok));
}

/**
 * Translates `entities` of `source` into every target side: the source documents are read once
 * (`known` ones not at all), then each target, in parallel, reads its current documents of the whole
 * batch with one request and writes the batch's updates with one `_bulk_docs`. `live`: see {@link translateInto}.
 */
export async function translate(state: TransformerState, source: TransformerSide, entities: readonly EntityRef[], targets: readonly TransformerSide[], known?: ReadonlyMap<string, ReadDoc>, live = false, winnerBack = false): Promise<void> {
  if (entities.length === 0) return;
  const sourceDocs = await readDocs(state, source, entities, known);
  const waitingNow = new Set<string>();
  await Promise.all(targets.map((target) => translateInto(state, source, target, entities, sourceDocs, waitingNow, live, winnerBack)));
  for (const e of entities) {
    if (waitingNow.has(entityKey(e))) continue;
    state.waiting.delete(`${source.name}\u0000${entityKey(e)}`);
    state.failures.delete(`${source.name}\u0000${entityKey(e)}`);
  }
}

/**
 * Translates the batch into one target. With `live` changes (the live feed delivering them as they are
 * made), entities whose source documents are all first revisions are new: the target is assumed to hold
 * none of their documents, so they are written without reading it; a 409 sends the entity through the
 * full read-plan-write path. The others, and every entity of a batch read again from a checkpoint or
 * touched by an app, are read from the target with one request: an entity translated and deleted there
 * since may still be at its first revision here, and a write without `_rev` over a tombstone would bring
 * it back.
 */
async function translateInto(
  state: TransformerState,
  source: TransformerSide,
  target: TransformerSide,
  entities: readonly EntityRef[],
  sourceDocs: ReadonlyMap<string, Record<string, ReadDoc>>,
  waitingNow: Set<string>,
  live: boolean,
  winnerBack: boolean,
): Promise<void> {
  const relevant = entities.filter((e) => {
    const to = familyShape(state.families, target.shape, e.family);
    const from = familyShape(state.families, source.shape, e.family);
    if (Object.keys(to).length === 0 || Object.keys(from).length === 0) return false;
    return !(target.store === source.store && sameShape(from, to)); // the very same documents
  });
  if (relevant.length === 0) return;
  const fresh: EntityRef[] = [];
  const rest: EntityRef[] = [];
  for (const e of relevant) {
    const docs = Object.values(sourceDocs.get(entityKey(e)) ?? {});
    const isNew = live && docs.length > 0 && docs.every((d) => d.state === "live" && revGeneration(d.doc._rev) === 1);
    (isNew ? fresh : rest).push(e);
  }
  const [taken] = await Promise.all([
    fresh.length === 0 ? [] : writeInto(state, source, target, fresh, sourceDocs, undefined, waitingNow, winnerBack),
    rest.length === 0 ? [] : readDocs(state, target, rest).then((docs) => writeInto(state, source, target, rest, sourceDocs, docs, waitingNow, winnerBack)),
  ]);
  if (taken.length > 0) await writeInto(state, source, target, taken, sourceDocs, await readDocs(state, target, taken), waitingNow, winnerBack);
}

/** The plan of one entity from `source` into `target`, given both sides' documents (asking for the source's ancestors when the plan needs them). */
export async function planOne(
  state: TransformerState,
  source: TransformerSide,
  target: TransformerSide,
  e: EntityRef,
  sourceDocs: ReadonlyMap<string, Record<string, ReadDoc>>,
  targetDocs: ReadonlyMap<string, Record<string, ReadDoc>> | undefined,
): Promise<EntityPlan> {
  const from = familyShape(state.families, source.shape, e.family);
  const to = familyShape(state.families, target.shape, e.family);
  const input: PlanInput = {
    entity: e,
    source: source.name,
    target: target.name,
    sourceDocs: sourceDocs.get(entityKey(e)) ?? {},
    targetDocs: targetDocs?.get(entityKey(e)) ?? {},
    from,
    to,
    path: state.graph.path(from, to),
    reversePath: state.graph.path(to, from),
    ids: state.ids,
    typeField: state.typeField,
    versionField: state.versionField,
    translatedOnWrite: { source: source.translatedOnWrite === true, target: target.translatedOnWrite === true },
    sourceRank: state.sides.indexOf(source),
    targetRank: state.sides.indexOf(target),
    ...(state.o.faults === undefined ? {} : { faults: state.o.faults }),
  };
  const first = planEntity(input);
  let plan = first.kind === "need-parents" ? planEntity({ ...input, ...(await parentsOf(source, target, input, first.ids, first.targetIds)) }) : first;
  if (state.retired.has(source.name)) plan = keepEndedBranches(plan, input);
  // A retired side receives no translations, only deletions: an entity deleted elsewhere is deleted there too.
  if (state.retired.has(target.name) && !(plan.kind === "write" && plan.writes.every((w) => w.doc._deleted === true))) {
    return { kind: "noop", reason: `${target.name} is retired: it receives deletions only` };
  }
  return plan;
}

/**
 * A retired side's document an old device edited beside the revision the target was translated from (a sibling,
 * not a descendant: the retirement ended that revision's branch, so the target's translation is the only copy of
 * its edit): its translation is written as a winning branch, and the target's document stays as a conflict
 * revision (reported) instead of being overwritten.
 */
function keepEndedBranches(plan: EntityPlan, input: PlanInput): EntityPlan {
  if (plan.kind !== "write") return plan;
  const current = new Map<string, string>();
  for (const r of Object.values(input.sourceDocs)) if (r.state === "live") current.set(r.doc._id, r.doc._rev ?? "");
  const targetLive = new Map<string, Doc>();
  for (const r of Object.values(input.targetDocs)) if (r.state === "live") targetLive.set(r.doc._id, r.doc);
  // Translated from a revision no older than the source's current one, but another: not one of its ancestors.
  const ended = (w: PlannedWrite): boolean => {
    const d = targetLive.get(w.doc._id);
    const p = d === undefined ? undefined : provenanceOf(d);
    if (w.mode !== "update" || w.doc._deleted === true || d === undefined || p?.from !== input.source || !isPristine(d)) return false;
    return Object.entries(p.revs).some(([id, rev]) => {
      const now = current.get(id);
      return now !== undefined && rev !== now && revGeneration(rev) >= revGeneration(now);
    });
  };
  const kept = plan.writes.filter(ended);
  if (kept.length === 0) return plan;
  const loserRevs: Record<string, string> = {};
  for (const w of kept) loserRevs[w.doc._id] = w.doc._rev ?? "";
  const winnerRev = [...current.values()].reduce((a, b) => (compareRevs(b, a) > 0 ? b : a), "");
  return {
    ...plan,
    writes: plan.writes.map((w) => (kept.includes(w) ? { ...w, mode: "branch" as const } : w)),
    conflict: plan.conflict ?? { family: input.entity.family, entityId: input.entity.entityId, winner: input.source, winnerRev, loser: input.target, loserRevs },
  };
}

/**
 * `writes` (a plan of entity `e` into `target`) with the entity's first document there (the first type of its family)
 * recording the documents the plan creates beside it (`divan.split`, `strategies/runner/split.ts`), when the
 * transformer records them (its `recordSplit` option): replication carries documents one by one, and a
 * replica that receives the first one alone then writes the others itself, with the revisions this write gives them,
 * so its app reads and edits the entity before they arrive.
 */
export function recordedSplit(state: TransformerState, target: TransformerSide, e: EntityRef, writes: readonly PlannedWrite[]): PlannedWrite[] {
  const [first] = Object.entries(familyShape(state.families, target.shape, e.family));
  if (state.o.recordSplit !== true || state.o.deterministicRevs !== true || first === undefined || writes.length < 2) return [...writes];
  // A winning branch is a conflict's translation, not a first write: it records nothing, and is recorded by nothing.
  const updates = writes.filter((w) => w.mode === "update");
  const recorded = recordingSplit(updates, new Set([state.ids.format(first[0], e.entityId, first[1])]));
  return writes.map((w) => (w.mode === "update" ? recorded[updates.indexOf(w)]! : w));
}

/** The first of `writes` that is not valid at its version (deletions aside), with why; undefined when all are. */
function invalidWrite(registry: Registry, writes: readonly PlannedWrite[]): { id: string; reason: string } | undefined {
  for (const w of writes) {
    if (w.doc._deleted === true) continue;
    const r = registry.validate(w.doc);
    if (!r.ok) return { id: w.doc._id, reason: `${w.doc._id} as ${r.type ?? "?"}@${String(r.version ?? "?")}: ${r.errors.map((x) => `${x.pointer || "/"} ${x.message}`).join("; ") || r.code}` };
  }
  return undefined;
}

/**
 * Plans and writes `relevant` into `target`, given the target's documents (`undefined`: assumed absent).
 * Returns the entities whose assumed-absent documents turned out to exist (409), to be written again
 * after reading them; with documents given, a 409 makes the entity wait for a retry instead. An entity whose
 * target edit wins a concurrent edit is translated back into the source (unless `winnerBack`: this already is
 * such a translation back, and the rule does not ask twice).
 */
async function writeInto(
  state: TransformerState,
  source: TransformerSide,
  target: TransformerSide,
  relevant: readonly EntityRef[],
  sourceDocs: ReadonlyMap<string, Record<string, ReadDoc>>,
  targetDocs: ReadonlyMap<string, Record<string, ReadDoc>> | undefined,
  waitingNow: Set<string>,
  winnerBack: boolean,
): Promise<EntityRef[]> {
  const sourceFeed = state.feeds.get(source.store)!;
  const taken = new Map<string, EntityRef>();
  const updates: { entity: EntityRef; write: PlannedWrite }[] = [];
  const branches: { entity: EntityRef; write: PlannedWrite }[] = [];
  const back = new Map<string, EntityRef>();
  const winners = new Map<string, EntityRef>();
  const quarantine = (e: EntityRef, id: string, rev: string | undefined, code: string, reason: string): void => {
    const doc = sourceDoc(sourceDocs, e, id);
    const record: QuarantineEntry = { side: source.name, id, rev, type: doc?.[state.typeField] as string | undefined, version: doc?.[state.versionField], code, reason };
    if (!sourceFeed.quarantine.some((q) => q.id === record.id && q.rev === record.rev && q.side === record.side)) {
      sourceFeed.quarantine.push(record);
      sourceFeed.quarantineDirty = true;
      state.o.onEvent?.({ type: "quarantine", record });
    }
  };
  for (const e of relevant) {
    const plan = await planOne(state, source, target, e, sourceDocs, targetDocs);
    switch (plan.kind) {
      case "need-parents":
        break;
      case "noop":
        if (plan.translateBack === true && !winnerBack) winners.set(entityKey(e), e);
        break;
      case "wait":
        waitingNow.add(entityKey(e));
        state.waiting.set(`${source.name}\u0000${entityKey(e)}`, { side: source.name, entity: e });
        state.o.onEvent?.({ type: "wait", side: source.name, missing: plan.missing });
        break;
      case "quarantine":
        quarantine(e, plan.id, plan.rev, "STEP_FAILED", plan.reason);
        break;
      case "write": {
        const invalid = state.o.verify === undefined ? undefined : invalidWrite(state.o.verify, plan.writes);
        if (invalid !== undefined) {
          const doc = sourceDoc(sourceDocs, e);
          quarantine(e, doc?._id ?? invalid.id, doc?._rev, "SCHEMA_INVALID", `its translation into ${target.name} is not valid: ${invalid.reason}`);
          break;
        }
        for (const w of recordedSplit(state, target, e, plan.writes)) (w.mode === "branch" ? branches : updates).push({ entity: e, write: w });
        if (plan.translateBack === true) back.set(entityKey(e), e);
        if (plan.conflict !== undefined) {
          state.conflicts.push(plan.conflict);
          if (state.conflicts.length > MAX_RECORDS) state.conflicts.shift();
          state.o.onEvent?.({ type: "conflict", conflict: plan.conflict });
        }
        break;
      }
    }
  }
  const targetFeed = state.feeds.get(target.store)!;
  const wroteTo = new Set<string>();
  const record = (entity: EntityRef, id: string, rev: string): void => {
    const k = entityKey(entity);
    if (!wroteTo.has(k)) {
      wroteTo.add(k);
      state.writeSets += 1;
      state.writeSetsBySide[target.name] = (state.writeSetsBySide[target.name] ?? 0) + 1;
    }
    targetFeed.written.add(`${id}@${rev}`);
    state.writtenIds?.add(id);
    state.writes += 1;
    state.writesBySide[target.name] = (state.writesBySide[target.name] ?? 0) + 1;
    state.o.onEvent?.({ type: "write", side: target.name, id, rev, from: source.name });
  };
  // Failed writes, one per entity (a refusal that cannot pass later wins over one that may).
  const failed = new Map<string, WriteFailure>();
  const fail = (entity: EntityRef, id: string, code: string, reason: string): void => {
    const prev = failed.get(entityKey(entity));
    if (prev === undefined || (RETRYABLE.has(prev.code) && !RETRYABLE.has(code))) failed.set(entityKey(entity), { entity, id, code, reason });
  };
  refuseAttachments([updates, branches], fail);
  if (updates.length > 0) {
    const docs = updates.map((u) => u.write.doc);
    let results: WriteResult[] = [];
    try {
      results = state.o.deterministicRevs === true ? await writeDeterministic(target.store, docs) : await target.store.bulkDocs(docs);
    } catch (e) {
      if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
      for (const u of updates) fail(u.entity, u.write.doc._id, "STORE_UNAVAILABLE", messageOf(e));
    }
    results.forEach((r, i) => {
      const u = updates[i]!;
      if (r.ok) record(u.entity, r.id, r.rev);
      else if (targetDocs === undefined && r.error.code === "CONFLICT") taken.set(entityKey(u.entity), u.entity);
      else fail(u.entity, u.write.doc._id, r.error.code, r.error.reason);
    });
  }
  for (const b of branches) {
    try {
      const current: Doc = await target.store.get(b.write.doc._id, { revs: true });
      if (current._rev !== b.write.doc._rev || current._revisions === undefined) {
        fail(b.entity, b.write.doc._id, "CONFLICT", `${b.write.doc._id} is at ${current._rev ?? "no revision"}, not ${b.write.doc._rev ?? "none"} as planned`);
        continue;
      }
      const doc = winningBranch(b.write.doc, current._revisions);
      const [r] = await target.store.bulkDocs([doc], { newEdits: false });
      if (r === undefined || r.ok) record(b.entity, doc._id, doc._rev!);
      else fail(b.entity, doc._id, r.error.code, r.error.reason);
    } catch (e) {
      if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
      fail(b.entity, b.write.doc._id, "STORE_UNAVAILABLE", messageOf(e));
    }
  }
  for (const f of failed.values()) writeFailed(state, source, target, f, sourceDocs, waitingNow);
  const translatedBack = [...back.values()].filter((e) => !failed.has(entityKey(e)) && !taken.has(entityKey(e)));
  if (translatedBack.length > 0) await translate(state, target, translatedBack, [source], undefined, false, winnerBack);
  if (winners.size > 0) await translate(state, target, [...winners.values()], [source], undefined, false, true);
  return [...taken.values()];
}

/** The names of a planned document's attachments. */
const attachmentNames = (doc: Doc): string[] => Object.keys(doc._attachments ?? {});

/**
 * Attachment stubs name bodies the target does not hold, and CouchDB refuses a whole `_bulk_docs` request with one
 * (412 `missing_stub`): the writes of every entity whose translation carries attachments are taken out of `lists`,
 * every document of it, and refused with `fail` (quarantined; its source stays as it is) instead of stopping every
 * other entity of the feed. Carrying attachment bodies across versions is not built.
 */
function refuseAttachments(lists: { entity: EntityRef; write: PlannedWrite }[][], fail: (entity: EntityRef, id: string, code: string, reason: string) => void): void {
  const refused = new Set(lists.flat().filter((w) => attachmentNames(w.write.doc).length > 0).map((w) => entityKey(w.entity)));
  if (refused.size === 0) return;
  for (const list of lists) {
    for (const w of list) {
      const names = attachmentNames(w.write.doc);
      if (names.length > 0) fail(w.entity, w.write.doc._id, "BAD_REQUEST", `it has attachments (${names.join(", ")}), which the transformers do not carry into another version`);
    }
    list.splice(0, list.length, ...list.filter((w) => !refused.has(entityKey(w.entity))));
  }
}
