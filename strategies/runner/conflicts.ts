/**
 * Resolving the conflicts an in-place migration causes: an old app's offline edit merged onto the migrated leaf.
 *
 * Resolving the conflicts an in-place migration causes (amended / client-side strategies): an old app's
 * offline edit of a document that was migrated meanwhile replicates in as a second child of the same
 * revision. The two leaves are merged three ways against their common ancestor (the revision both grew
 * from, before the migration): the ancestor and the old edit are translated up, and each attribute of each
 * target document takes the side that changed it. An attribute both sides changed to different values is
 * a real conflict: the merge keeps the migrated side's value and the old edit's value stays on a
 * conflicting revision of that document, for the app to resolve (never dropped). Without a readable
 * common ancestor the old edit is translated up with the migrated leaf as its base (so what the old
 * version cannot represent survives). A side that holds the ancestor's value after changing it back (an undo:
 * replication carried only its last revision) is no untouched side: the attribute clashes. The merge is written on top of the winning revision, and the other
 * leaves end (or carry the old side of a conflict). Browser-safe.
 */
import type { StepGraph } from "../../adapters/path.js";
import type { Entity, Shape } from "../../adapters/types.js";
import { singleVersionIds, type IdScheme } from "../../adapters/ids.js";
import { historyOf, type Doc, type DocumentStore, type Seq } from "../../store/port.js";
import { isDivanError } from "../../core/errors.js";
import { attributeHashes, basesOf, valueHash, withBases, type AttributeHashes, type ChangedBack } from "./bases.js";
import { changed, changedBack, holdsOwnSide, keptOf } from "./undo.js";
import { hashesOf, merge3, REV_FIELDS, type AncestorHashes } from "./merge3.js";
import { byRev, commonAncestor, heldInCommon, lineageOf, liveLeaves, mergedEnds, metThroughSources } from "./merged.js";
import { canonicalJson, sameContent, withDeterministicRev } from "./canonical.js";
import { endCoveredLeaves } from "./covers.js";
import { checkTranslation } from "./plan.js";
import type { MigrationOptions, QuarantineRecord } from "./types.js";

/** Options of {@link resolveMigrationConflicts}. */
export interface ResolveConflictsOptions {
  readonly graph: StepGraph;
  /** The shape documents were migrated to. */
  readonly to: Shape;
  /** Only look at changes after this sequence. */
  readonly since?: Seq;
  readonly ids?: IdScheme;
  readonly typeField?: string;
  readonly versionField?: string;
  /** Write the merge with revisions derived from content (replicas that resolve the same conflict agree). */
  readonly deterministicRevs?: boolean;
  /**
   * The migration recorded its bases (`divan.bases`, `strategies/runner/bases.ts`): merge against them where the
   * ancestor's body is not here, and record each merged old edit's on what the merge writes.
   */
  readonly recordBases?: boolean;
  /**
   * Translate documents whose leaves are all old (old apps' concurrent edits) to `to`, one branch each (default true).
   * `false` where no migration runs (an old app that merges its edits into migrations other devices made).
   */
  readonly migrateOldConflicts?: boolean;
  /**
   * Leave a merge undone where a side's revisions since the ancestor include some whose bodies are not here and may be
   * a user's (what that side changed back is then unknown, see `undo.ts`): a replica that holds them (the updated device
   * that wrote them) merges it, and its deterministic revisions reach this one. For an app that does not migrate: its
   * merge would differ from that replica's, two merges of one conflict that replication keeps apart.
   */
  readonly leaveUndecided?: boolean;
  /**
   * Check each translation of an old-version conflict's leaves (see `migrateOldConflicts`) as the runner checks its own:
   * valid at its version, nothing lost translated back. A document with a leaf that fails is left as it is and reported
   * in {@link ResolveConflictsReport.refused}. Without it, only the steps' own errors stop a translation.
   */
  readonly verify?: MigrationOptions["verify"];
}

/** What {@link resolveMigrationConflicts} did. */
export interface ResolveConflictsReport {
  /** Documents whose conflict was resolved. */
  readonly resolved: string[];
  /**
   * Documents where both sides changed one attribute to different values: the merge keeps the migrated
   * side's value and the old edit's value is on a conflicting revision of the document named, for the app
   * to resolve.
   */
  readonly conflicts: string[];
  /**
   * Leaves of old-version conflicts whose translation failed (a step's error, or `verify`'s check): their document was
   * left as it is, every leaf at its old version.
   */
  readonly refused: QuarantineRecord[];
  /** The sequence read up to (pass back as `since`). */
  readonly lastSeq: Seq;
}

/** A document without its revision fields (to write it on top of another revision). */
function withoutRevs(doc: Entity[string]): Doc {
  const out = { ...doc } as Doc;
  for (const k of REV_FIELDS) delete out[k];
  return out;
}

/**
 * The ancestor of an old revision (its `history`, newest first) and the target documents `theirs` that their
 * recorded bases give: for each document, the newest revision of the history it records (none for a document
 * that records none of them).
 */
function recordedAncestor(history: readonly string[], theirs: Entity): AncestorHashes {
  const out: AncestorHashes = {};
  for (const [t, d] of Object.entries(theirs)) {
    const bases = basesOf(d);
    const rev = history.find((r) => bases[r] !== undefined);
    if (rev !== undefined) out[t] = bases[rev]!;
  }
  return out;
}

/** The revisions among `revs` (a document's leaves, deleted ones included) that end a merged branch (`divan: { merged: true }`). */
async function mergedBranchEnds(store: DocumentStore, id: string, revs: readonly string[], leaves: readonly Doc[]): Promise<string[]> {
  const live = new Set(leaves.map((l) => l._rev));
  const ends = revs.filter((rev) => !live.has(rev));
  return (await store.bulkGet(ends.map((rev) => ({ id, rev })))).flatMap((r) => {
    if (!("ok" in r)) return [];
    const mark = r.ok["divan"];
    return typeof mark === "object" && mark !== null && (mark as { merged?: unknown }).merged === true ? [r.ok._rev!] : [];
  });
}

/**
 * Finds documents with exactly one old-version leaf and at least one target-version leaf, and merges them
 * as the module comment says (the merge becomes the winner's child). Other conflicts are left alone.
 */
export async function resolveMigrationConflicts(store: DocumentStore, options: ResolveConflictsOptions): Promise<ResolveConflictsReport> {
  const tf = options.typeField ?? "schema";
  const vf = options.versionField ?? "version";
  const ids = options.ids ?? singleVersionIds;
  const resolved: string[] = [];
  const conflicts: string[] = [];
  const refused: QuarantineRecord[] = [];
  const merged = new Set<string>();
  let since: Seq | undefined = options.since;
  for (;;) {
    const page = await store.changes({ ...(since === undefined ? {} : { since }), limit: 500, style: "all_docs" });
    for (const c of page.results) {
      if (c.changes.length < 2 || c.deleted === true || c.id.startsWith("_")) continue;
      const winner = await store.get(c.id, { conflicts: true }).catch((e: unknown) => {
        if (isDivanError(e, "NOT_FOUND")) return undefined; // deleted meanwhile
        throw e;
      });
      if (winner === undefined || (winner._conflicts ?? []).length === 0) continue;
      const losers = (await store.bulkGet(winner._conflicts!.map((rev) => ({ id: c.id, rev })))).flatMap((r) => ("ok" in r ? [r.ok] : []));
      const leaves = [winner, ...losers].filter((d) => d._deleted !== true);
      const type = winner[tf];
      if (typeof type !== "string" || options.to[type] === undefined) continue;
      const old = leaves.filter((d) => d[tf] === type && d[vf] !== options.to[type]);
      const cur = leaves.filter((d) => d[tf] === type && d[vf] === options.to[type]);
      if (old.length === 0 && cur.length >= 2 && cur.length === leaves.length) {
        const entity = ids.parse(c.id)?.entityId;
        if (entity !== undefined && !merged.has(entity)) {
          merged.add(entity);
          const m = await mergeMigratedLeaves(store, entity, options, { id: c.id, revs: c.changes.map((x) => x.rev) });
          if (m.resolved) resolved.push(c.id);
          conflicts.push(...m.conflicts);
        }
        continue;
      }
      if (old.length >= 2 && cur.length === 0 && old.length === leaves.length) {
        // Users of the old app edited it concurrently: their conflict stays, one level up (see migrateConflictLeaves).
        if (options.migrateOldConflicts !== false && (await migrateConflictLeaves(store, type, old, options, refused))) resolved.push(c.id);
        continue;
      }
      // Several old leaves (old apps' concurrent edits): merged one at a time, in revision order, each on top of the
      // last merge (the merge's write brings the document back in this changes feed for the next one).
      if (await mergeOldLeaf(store, options, { id: c.id, revs: c.changes.map((x) => x.rev) }, type, leaves, conflicts)) resolved.push(c.id);
    }
    if (page.results.length === 0) return { resolved: [...new Set(resolved)], conflicts: [...new Set(conflicts)], refused, lastSeq: page.lastSeq };
    since = page.lastSeq;
  }
}

/**
 * Merges the oldest old-version leaf of document `c` (`leaves`, its live leaves, of type `type`) into every
 * target-version leaf, three ways where an ancestor is known; true when every write succeeded. Attributes both sides
 * changed stay on a conflicting revision, and their document ids are added to `conflicts`.
 */
async function mergeOldLeaf(
  store: DocumentStore,
  options: ResolveConflictsOptions,
  c: { readonly id: string; readonly revs: readonly string[] },
  type: string,
  leaves: readonly Doc[],
  conflicts: string[],
): Promise<boolean> {
  const tf = options.typeField ?? "schema";
  const vf = options.versionField ?? "version";
  const ids = options.ids ?? singleVersionIds;
  const old = leaves.filter((d) => d[tf] === type && d[vf] !== options.to[type]);
  const cur = leaves.filter((d) => d[tf] === type && d[vf] === options.to[type]);
  const oldDoc = [...old].sort(byRev)[0];
  if (oldDoc === undefined || cur.length === 0 || typeof oldDoc[vf] !== "number") return false;
  const parsed = ids.parse(c.id);
  if (parsed === undefined) return false;
  // The newest target-version leaf and the entity's other documents are what the migrated side holds.
  const baseLeaf = [...cur].sort((a, b) => Number.parseInt(b._rev!, 10) - Number.parseInt(a._rev!, 10))[0]!;
  const theirs: Entity = { [type]: baseLeaf };
  const siblings = Object.keys(options.to).filter((t) => t !== type).map((t) => ids.format(t, parsed.entityId, options.to[t]!));
  const sib = await store.bulkGet(siblings.map((id) => ({ id })), { revs: true });
  const sibDocs = new Map<string, Doc>();
  for (const r of sib) {
    if (!("ok" in r) || r.ok._deleted === true) continue;
    const t = r.ok[tf];
    if (typeof t === "string") {
      theirs[t] = r.ok;
      sibDocs.set(r.ok._id, r.ok);
    }
  }
  // Ends of branches merged before: an old edit made on top of one builds on what was merged.
  const mergedEnds = await mergedBranchEnds(store, c.id, c.revs, leaves);
  const up = (d: Doc): Entity => options.graph.path({ [type]: d[vf] as number }, options.to)({ [type]: { ...d } });
  const writes: Doc[] = [];
  const branches: Doc[] = [];
  let keep: Doc | undefined;
  const [withHistory] = options.recordBases === true ? await store.bulkGet([{ id: c.id, rev: oldDoc._rev! }], { revs: true }) : [];
  const oldHistory = withHistory !== undefined && "ok" in withHistory ? historyOf(withHistory.ok) : undefined;
  try {
    const upOld = up(oldDoc);
    // The old edit is merged into every target-version leaf (several: new apps' own concurrent edits, left to
    // the app as they are); the newest one also gets the entity's other documents.
    for (const leaf of [baseLeaf, ...cur.filter((l) => l !== baseLeaf)]) {
      const theirsOfLeaf: Entity = { ...theirs, [type]: leaf };
      const body = await commonAncestor(store, oldDoc, leaf, mergedEnds);
      const recorded = oldHistory === undefined ? {} : recordedAncestor(oldHistory, theirsOfLeaf);
      // Every document the merge writes records the old edit as one of its bases: its next edit merges against it, and
      // where two replicas merged different edits of one old branch, the later edit is told (see mergeMigratedLeaves).
      const recording = (d: Doc, t: string): Doc => (options.recordBases === true && upOld[t] !== undefined ? withBases(d, { [oldDoc._rev!]: attributeHashes(upOld[t]!) }) : d);
      const ancestor: AncestorHashes | undefined =
        body !== undefined && body[tf] === type && typeof body[vf] === "number" && body[vf] !== options.to[type]
          ? { ...hashesOf(up(body)), ...recorded }
          : recorded[type] !== undefined
            ? recorded
            : undefined;
      let merged: Entity;
      let oursSide: Entity = {};
      let conflicted = new Set<string>();
      if (ancestor !== undefined) {
        const at = { id: c.id, rev: body?._rev ?? oldHistory?.find((r) => basesOf(leaf)[r] !== undefined) }; // an undo on either side clashes
        const theirsHeld = new Set((await holdsOwnSide(store, leaf, at)) ? [type] : []);
        // Both sides grew from the ancestor's own revision: what the old edit's user saw there, a clash with another leaf
        // kept on this one (`kept`) is not against this edit; that leaf keeps the clash.
        const settled = body !== undefined && theirsHeld.size > 0 ? keptAgainstOtherLeaves(leaf, cur, ancestor[type]) : new Set<string>();
        const backs = await backsOf(store, options, at, ancestor, oldDoc, theirsOfLeaf, settled);
        if (options.leaveUndecided === true && undecided(backs)) return false;
        ({ merged, oursSide, conflicted } = merge3(ancestor, upOld, theirsOfLeaf, { ...backs, theirsHeld }));
      } else if (options.recordBases === true) {
        // No replica that migrates ever held the ancestor (the migration translated an old edit concurrent with this
        // one): what the old edit holds differently (translated with the stored documents as base, so it keeps what
        // the old version cannot show) is the users' clash, kept on a conflicting revision, never overwritten.
        const ours = options.graph.path({ [type]: oldDoc[vf] as number }, options.to)({ [type]: { ...oldDoc } }, { base: theirsOfLeaf });
        ({ merged, oursSide, conflicted } = merge3("unknown", ours, theirsOfLeaf));
      } else {
        merged = options.graph.path({ [type]: oldDoc[vf] as number }, options.to)({ [type]: { ...oldDoc } }, { base: theirsOfLeaf });
      }
      for (const [t, d] of Object.entries(merged)) {
        if (typeof d._id !== "string") continue;
        const content = recording(withoutRevs(d), t);
        if (d._id === c.id) {
          writes.push({ ...content, _rev: leaf._rev! });
          // The old side of an attribute both changed stays on the old edit's branch.
          if (leaf === baseLeaf && conflicted.has(t)) {
            keep = oldDoc;
            writes.push({ ...recording(withoutRevs(oursSide[t]!), t), _rev: oldDoc._rev! });
          }
        } else if (leaf === baseLeaf) {
          const s = sibDocs.get(d._id);
          writes.push({ ...content, ...(s?._rev === undefined ? {} : { _rev: s._rev }) });
          if (s !== undefined && conflicted.has(t)) {
            // A sibling branch of the stored revision: a conflict of this document, as a concurrent edit makes one.
            const parent = historyOf(s)[1];
            branches.push(withDeterministicRev({ ...recording(withoutRevs(oursSide[t]!), t), ...(parent === undefined ? {} : { _rev: parent }) }));
          }
        }
      }
      if (leaf === baseLeaf) for (const t of conflicted) conflicts.push(ids.format(t, parsed.entityId, options.to[t]!));
    }
  } catch (e) {
    if (!isDivanError(e)) throw e;
    return false; // not translatable: leave the conflict for a human
  }
  // Marked, so a merged branch's end is not taken for a user's deletion (`strategies/deletes.ts`).
  // With deterministic revisions it also names the merge (`into`), so replicas that each merged a different one of
  // an old device's successive edits can tell which merge holds the later edit (see mergeMigratedLeaves).
  const into = options.deterministicRevs === true ? writes.find((w) => w._id === c.id && w._rev === baseLeaf._rev) : undefined;
  if (keep === undefined) writes.push({ _id: c.id, _rev: oldDoc._rev!, _deleted: true, divan: { merged: true, ...(into === undefined ? {} : { into: withDeterministicRev(into)._rev }) } });
  const results = options.deterministicRevs === true ? await store.bulkDocs(writes.map((d) => withDeterministicRev(d)), { newEdits: false }) : await store.bulkDocs(writes);
  const branched = branches.length === 0 ? [] : await store.bulkDocs(branches, { newEdits: false });
  return results.every((r) => r.ok) && branched.every((r) => r.ok);
}

/**
 * The attributes `leaf` keeps (`kept`, a clash recorded by a merge) at the ancestor's value (attribute hashes `ancestor`)
 * while another of the target-version leaves `cur` holds a different value: that leaf still carries the clash.
 */
function keptAgainstOtherLeaves(leaf: Doc, cur: readonly Doc[], ancestor: AttributeHashes | undefined): Set<string> {
  const eq = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);
  const own = leaf as Record<string, unknown>;
  return new Set(
    keptOf(leaf).filter(
      (k) => ancestor !== undefined && valueHash(own[k]) === (ancestor[k] ?? valueHash(undefined)) && cur.some((l) => l !== leaf && !eq((l as Record<string, unknown>)[k], own[k])),
    ),
  );
}

/** Whether a side of a merge may have changed any attribute back: its revisions since the ancestor are not all here. */
function undecided(backs: { readonly ours: Readonly<Record<string, ChangedBack>>; readonly theirs: Readonly<Record<string, ChangedBack>> }): boolean {
  return [...Object.values(backs.ours), ...Object.values(backs.theirs)].includes("any");
}

/**
 * What each side of the merge of old edit `oldDoc` into the target documents `theirs` may have changed back since the
 * ancestor (`at`, attribute hashes `ancestor`), per document type (see `undo.ts`); `settled`, the attributes of `oldDoc`'s
 * document whose `kept` mark on the `theirs` side does not count (see {@link changedBack}).
 */
async function backsOf(
  store: DocumentStore,
  options: ResolveConflictsOptions,
  at: { readonly id: string; readonly rev: string | undefined },
  ancestor: AncestorHashes,
  oldDoc: Doc,
  theirs: Entity,
  settled: ReadonlySet<string> = new Set(),
): Promise<{ ours: Record<string, ChangedBack>; theirs: Record<string, ChangedBack> }> {
  const tf = options.typeField ?? "schema";
  const vf = options.versionField ?? "version";
  const type = oldDoc[tf] as string;
  const hashesAt =
    (t: string) =>
    (d: Doc): AttributeHashes | undefined => {
      if (d[tf] === t && d[vf] === options.to[t]) return attributeHashes(d);
      if (d[tf] !== type || d[vf] === options.to[type]) return undefined;
      try {
        const u = options.graph.path({ [type]: d[vf] as number }, options.to)({ [type]: { ...d } })[t];
        return u === undefined ? undefined : attributeHashes(u);
      } catch (e) {
        if (!isDivanError(e)) throw e;
        return undefined;
      }
    };
  const back: { ours: Record<string, ChangedBack>; theirs: Record<string, ChangedBack> } = { ours: {}, theirs: {} };
  for (const t of Object.keys(ancestor)) {
    const d = theirs[t];
    back.ours[t] = await changedBack(store, oldDoc, at, ancestor[t], hashesAt(t), vf);
    if (d !== undefined && typeof d._id === "string") back.theirs[t] = await changedBack(store, { ...d, _id: d._id }, at, ancestor[t], hashesAt(t), vf, t === type ? settled : undefined);
  }
  return back;
}

/**
 * Where the leaves of each document of `docs` (one entity's, several leaves each) meet, as their merge's ancestor
 * (attribute hashes per document type) and its revision: a migrated revision they share (that document's); else a
 * pre-migration one (the entity's, translated up by `up`; the first found serves every document without a meeting of
 * its own), through the branches merged into them too; else, for a document a migration split off, where the old
 * revisions its leaves were translated from meet.
 */
async function meetingsOf(
  store: DocumentStore,
  docs: ReadonlyMap<string, readonly Doc[]>,
  merges: Parameters<typeof heldInCommon>[1],
  entityId: string,
  options: ResolveConflictsOptions,
  up: (a: Doc) => Entity | undefined,
): Promise<Map<string, { ancestor: AncestorHashes; at: { id: string; rev: string } }>> {
  const tf = options.typeField ?? "schema";
  const vf = options.versionField ?? "version";
  const ids = options.ids ?? singleVersionIds;
  const out = new Map<string, { ancestor: AncestorHashes; at: { id: string; rev: string } }>();
  let entity: { ancestor: AncestorHashes; at: { id: string; rev: string } } | undefined;
  for (const [t, leaves] of docs) {
    if (leaves.length < 2) continue;
    // The newest revision all hold, in their histories or through branches merged into them (each replica merged a
    // different one of two branches; or one migrated an old edit another merged into its migration, then edited on).
    const rev = heldInCommon(leaves, merges);
    const others = [...docs.keys()].filter((u) => u !== t).map((u) => ids.format(u, entityId, options.to[u]!));
    const at = rev !== undefined ? { id: leaves[0]!._id, rev } : await metThroughSources(store, leaves, others);
    if (at === undefined) continue;
    const [found] = await store.bulkGet([at]);
    const a = found !== undefined && "ok" in found && found.ok._deleted !== true ? found.ok : undefined;
    if (a === undefined || typeof a[vf] !== "number" || (rev !== undefined && a[tf] !== t)) continue;
    if (rev !== undefined && a[vf] === options.to[t]) {
      out.set(t, { ancestor: { [t]: attributeHashes(a) }, at });
      continue;
    }
    const u = up(a);
    if (u === undefined) continue;
    if (rev === undefined) out.set(t, { ancestor: hashesOf(u), at });
    else entity ??= { ancestor: hashesOf(u), at };
  }
  if (entity !== undefined) for (const t of docs.keys()) if (!out.has(t)) out.set(t, entity);
  return out;
}

/**
 * Conflicts between target-version leaves that two replicas wrote from different old revisions (one had an
 * old edit the other had not seen, or each merged a different old edit onto the migrated revision): each
 * document of the entity with several such leaves is merged three ways against the newest revision its
 * leaves share: a target-version one as it is, a pre-migration one translated up (the entity's, for a
 * document whose leaves share none). Where two leaves changed one attribute differently and each value came
 * from an old edit merged into it, the later of two successive old edits wins (the old app's user changed
 * their mind; `ends` are the document's leaf revisions, merged branches' ends among them). Leaves that still
 * changed one attribute to different values stay in conflict (both keep every other change): that conflict
 * is the users'.
 */
async function mergeMigratedLeaves(store: DocumentStore, entityId: string, options: ResolveConflictsOptions, ends: { readonly id: string; readonly revs: readonly string[] }): Promise<{ resolved: boolean; conflicts: string[] }> {
  const tf = options.typeField ?? "schema";
  const vf = options.versionField ?? "version";
  const ids = options.ids ?? singleVersionIds;
  const docs = new Map<string, Doc[]>();
  for (const t of Object.keys(options.to)) docs.set(t, await liveLeaves(store, ids.format(t, entityId, options.to[t]!)));
  const up = (a: Doc): Entity | undefined => {
    const t = a[tf];
    if (typeof t !== "string" || typeof a[vf] !== "number" || a[vf] === options.to[t]) return undefined;
    try {
      return options.graph.path({ [t]: a[vf] as number }, options.to)({ [t]: { ...a } });
    } catch (e) {
      if (!isDivanError(e)) throw e;
      return undefined;
    }
  };
  // The branches merged into the leaves before (each end names the old edit, its parent, and the merge, `into`).
  const merges = await mergedEnds(store, Object.keys(options.to).map((t) => ids.format(t, entityId, options.to[t]!)), ends);
  // A leaf whose content another leaf holds adds nothing to it: it ends.
  const all = new Map([...docs].map(([t, leaves]) => [t, [...leaves]]));
  const writes: Doc[] = endCoveredLeaves(docs);
  const meetings = await meetingsOf(store, docs, merges, entityId, options, up);
  // Its history still tells where the entity's documents meet (its own document may be left with one leaf).
  if (writes.length > 0 && [...docs].some(([t, leaves]) => leaves.length >= 2 && !meetings.has(t))) {
    for (const [t, m] of await meetingsOf(store, all, merges, entityId, options, up)) if (!meetings.has(t)) meetings.set(t, m);
  }
  const lineage = lineageOf(merges, docs);
  const intoBodies = new Map<string, Doc>();
  for (const r of await store.bulkGet(merges.map((m) => ({ id: m.id, rev: m.into })))) if ("ok" in r) intoBodies.set(`${r.ok._id}@${r.ok._rev!}`, r.ok);
  const eq = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);
  /** A revision's attribute hashes at the target shape as document type `t` (undefined when it cannot be translated). */
  const hashesAtOf =
    (t: string) =>
    (d: Doc): AttributeHashes | undefined =>
      d[tf] === t && d[vf] === options.to[t] ? attributeHashes(d) : ((u) => (u === undefined ? undefined : attributeHashes(u)))(up(d)?.[t]);
  /**
   * Whether `later` (attribute `k` of `laterLeaf`) is what a merge of an old edit wrote, and `earlier` (of
   * `earlierLeaf`) what a merge of an older edit of the same old branch wrote: the old app's user changed it again.
   * Not when `earlierLeaf`'s side changed `k` since that write and changed it back: its value is then its user's own,
   * concurrent with the later old edit (`source`: the document old revisions the bases name are revisions of).
   */
  const supersedes = async (k: string, laterLeaf: Doc, later: unknown, earlierLeaf: Doc, earlier: unknown, source: string): Promise<boolean> => {
    const t = earlierLeaf[tf] as string;
    const untouchedSince = async (at: { readonly id: string; readonly rev: string }, hashes: AttributeHashes): Promise<boolean> =>
      !changed(await changedBack(store, earlierLeaf, at, hashes, hashesAtOf(t), vf), k);
    const holds = (leaf: Doc, value: unknown) => {
      const h = new Set(historyOf(leaf));
      return merges.filter((m) => m.id === leaf._id && h.has(m.into) && eq((intoBodies.get(`${m.id}@${m.into}`) as Record<string, unknown> | undefined)?.[k], value) && intoBodies.has(`${m.id}@${m.into}`));
    };
    const laterMerges = holds(laterLeaf, later);
    for (const p of holds(earlierLeaf, earlier)) {
      if (!laterMerges.some((q) => p.edit !== q.edit && q.history.has(p.edit) && !p.history.has(q.edit))) continue;
      if (await untouchedSince({ id: p.id, rev: p.into }, attributeHashes(intoBodies.get(`${p.id}@${p.into}`)!))) return true;
    }
    // The same told by the bases the leaves record (any document: a sibling's value came from the old edit too).
    const [bl, be] = [basesOf(laterLeaf), basesOf(earlierLeaf)];
    const gives = (hashes: AttributeHashes, value: unknown): boolean => (hashes[k] ?? valueHash(undefined)) === valueHash(value);
    const laterBases = Object.keys(bl).filter((q) => be[q] === undefined && gives(bl[q]!, later));
    for (const p of Object.keys(be)) {
      if (bl[p] !== undefined || !gives(be[p]!, earlier)) continue;
      if (!laterBases.some((q) => p !== q && lineage.get(q)?.has(p) === true && lineage.get(p)?.has(q) !== true)) continue;
      if (await untouchedSince({ id: source, rev: p }, be[p]!)) return true;
    }
    return false;
  };
  const conflicts: string[] = [];
  for (const [t, leaves] of docs) {
    if (leaves.length < 2 || leaves.some((l) => l[vf] !== options.to[t])) continue;
    // Where the leaves do not meet, leaves holding the same attributes (two replicas split them off two revisions of a
    // source) need no ancestor.
    const sameAttributes = (): boolean => leaves.every((l) => eq(attributeHashes(l), attributeHashes(leaves[0]!)));
    const meeting = meetings.get(t) ?? (sameAttributes() ? { ancestor: { [t]: attributeHashes(leaves[0]!) }, at: { id: leaves[0]!._id, rev: undefined } } : undefined);
    if (meeting === undefined) continue;
    const [ancestor, ancestorAt] = [meeting.ancestor, meeting.at];
    // A leaf whose side changed an attribute and changed it back (undo) keeps it against the other's change: a clash.
    // (A side's revisions may be another document's: the old one an old app edited before its device migrated it.)
    const hashesAt = hashesAtOf(t);
    const backOf = (leaf: Doc): Promise<ChangedBack> => changedBack(store, leaf, ancestorAt, ancestor[t], hashesAt, vf);
    // Fold the leaves into the newest one; an attribute two of them changed differently stays on both.
    const [first, ...rest] = [...leaves].sort((a, b) => -byRev(a, b));
    const theirsHeld = new Set((await holdsOwnSide(store, first!, ancestorAt)) ? [t] : []);
    const backs = new Map<Doc, ChangedBack>(await Promise.all(leaves.map(async (l) => [l, await backOf(l)] as const)));
    if (options.leaveUndecided === true && [...backs.values()].includes("any")) continue;
    let into: Entity = { [t]: first! };
    const kept: { leaf: Doc; content: Doc }[] = [];
    const ended: Doc[] = [];
    for (const leaf of rest) {
      const m = merge3(ancestor, { [t]: leaf }, into, { ours: { [t]: backs.get(leaf)! }, theirs: { [t]: backs.get(first!)! }, theirsHeld });
      // Each attribute the two leaves hold differently: the later of two successive old edits wins, on both sides (also
      // where the other leaf holds the ancestor's value: its old edit set it back). What is left different clashes.
      const merged = { ...m.merged[t]! } as Record<string, unknown>;
      const ours = { ...m.oursSide[t]! } as Record<string, unknown>;
      const mine = leaf as Record<string, unknown>;
      const other = into[t]! as Record<string, unknown>;
      let clash = false;
      for (const k of new Set([...Object.keys(mine), ...Object.keys(other)])) {
        if (REV_FIELDS.has(k) || k === "_id" || k === "divan" || eq(mine[k], other[k])) continue;
        if (await supersedes(k, leaf, mine[k], first!, other[k], ancestorAt.id)) merged[k] = ours[k] = mine[k];
        else if (await supersedes(k, first!, other[k], leaf, mine[k], ancestorAt.id)) merged[k] = ours[k] = other[k];
        if (!eq(merged[k], ours[k])) clash = true;
      }
      m.merged[t] = merged as Entity[string];
      m.oursSide[t] = ours as Entity[string];
      into = { [t]: { ...withBases(m.merged[t]!, basesOf(leaf)), _rev: first!._rev! } };
      if (clash) kept.push({ leaf, content: withoutRevs(m.oursSide[t]!) });
      else ended.push(leaf);
    }
    const result = withoutRevs(into[t]!);
    const written = sameContent(result, first!) ? undefined : { ...result, _rev: first!._rev! };
    if (written !== undefined) writes.push(written);
    // With deterministic revisions an ended branch names the merge it went into (see heldInCommon).
    const mergedInto = written !== undefined && options.deterministicRevs === true ? { into: withDeterministicRev(written)._rev } : {};
    for (const l of ended) writes.push({ _id: l._id, _rev: l._rev!, _deleted: true, divan: { merged: true, ...mergedInto } });
    for (const k of kept) if (!sameContent(k.content, k.leaf)) writes.push({ ...k.content, _rev: k.leaf._rev! });
    if (kept.length > 0) conflicts.push(first!._id);
  }
  if (writes.length === 0) return { resolved: false, conflicts };
  const results = options.deterministicRevs === true ? await store.bulkDocs(writes.map((d) => withDeterministicRev(d)), { newEdits: false }) : await store.bulkDocs(writes);
  return { resolved: results.every((r) => r.ok), conflicts };
}

/**
 * A document whose leaves are all at an old version (old apps' concurrent edits) cannot be migrated as one
 * revision without dropping a leaf. Each leaf is translated on its own branch instead: the document's
 * translation as the leaf's child, the entity's other documents as conflicting revisions of each other
 * (deterministic, so replicas agree). The conflict stays the users', now at the target version, where the
 * new app reads its winner and can resolve it. A leaf whose translation fails (a step's error, or `options.verify`'s
 * check) leaves the document as it is: the leaf is added to `refused`.
 */
async function migrateConflictLeaves(store: DocumentStore, type: string, leaves: readonly Doc[], options: ResolveConflictsOptions, refused: QuarantineRecord[]): Promise<boolean> {
  const vf = options.versionField ?? "version";
  const writes: Doc[] = [];
  const sorted = [...leaves].sort((a, b) => (a._rev! < b._rev! ? -1 : 1));
  const siblingIds = new Set<string>();
  const problems: QuarantineRecord[] = [];
  for (const leaf of sorted) {
    const version = leaf[vf];
    const record = (code: string, reason: string): void => {
      problems.push({ id: leaf._id, rev: leaf._rev!, type, version, code, reason: `a leaf of a conflict between old apps' edits: ${reason}; the document is left as it is` });
    };
    let out: Entity;
    try {
      const path = options.graph.path({ [type]: version as number }, options.to);
      const input: Entity = { [type]: { ...leaf } };
      out = path(input);
      const problem = checkTranslation({ graph: options.graph, ...(options.verify === undefined ? {} : { verify: options.verify }), versionField: vf }, path, { [type]: leaf }, out);
      if (problem !== undefined) {
        record(problem.code, problem.reason);
        continue;
      }
    } catch (e) {
      if (!isDivanError(e)) throw e;
      record(e.code, e.message);
      continue;
    }
    for (const d of Object.values(out)) {
      if (typeof d._id !== "string") continue;
      if (d._id === leaf._id) writes.push(withDeterministicRev({ ...withoutRevs(d), _rev: leaf._rev! }));
      else {
        siblingIds.add(d._id);
        writes.push(withDeterministicRev(withoutRevs(d))); // a root revision: the translations of the leaves conflict as they did
      }
    }
  }
  if (problems.length > 0) {
    refused.push(...problems);
    return false;
  }
  // The entity's other documents must not exist yet (else this is no plain old-version conflict).
  if (siblingIds.size > 0) {
    const existing = await store.allDocs({ keys: [...siblingIds] });
    if (existing.rows.some((r) => r.value !== undefined)) return false;
  }
  const results = await store.bulkDocs(writes, { newEdits: false });
  return results.every((r) => r.ok);
}
