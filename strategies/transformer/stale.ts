/**
 * Stale translations, where transformers run on several replicas and translate different revisions of a document.
 *
 * Stale translations, where transformers run on several replicas (client-side transformers with
 * `deterministicRevs`). Two replicas can translate different revisions of one source document: a
 * device that edits an old document offline and then installs the new app offline back-fills from its
 * edit, while other devices already replicated their translation of the revision before it. Both
 * translations replicate, and the target document ends with two leaves.
 *
 * A leaf is *stale* when it is pristine transformer output (nobody edited it: its content still hashes to
 * its provenance) and every source revision it was translated from is the current source revision or an
 * ancestor of it, one of them strictly older: it holds nothing a user wrote, and the current source is (or
 * will be) translated on another leaf. Not when the current source revisions translate, onto it, to what it
 * holds (they changed only what its side cannot show, a group seen from the old version): it then is their
 * translation, nothing else will be written, and ending it would let a concurrent edit of its document win
 * over a value only it holds. It is stale too when another leaf of the same document covers it:
 * translated from the same source documents at the same or newer revisions, and either from a newer one,
 * or edited since, or written on a user's edit where the leaf is a bare translation, or first in CouchDB's order
 * (two replicas translated the same revisions onto different parents: one of the identical translations stays).
 * A leaf translated onto a user's edit of the target (a group set on the new version) that no other leaf holds (none
 * reads the same, none was made on the document it was written on) is never such a copy: ending it would lose the
 * edit; two of them are the users' conflict. It is stale too when another leaf holds what it was translated without (its source
 * was made on a translation of that leaf, but it was written where that leaf was missing, so without it as
 * base): the caller translates the source again, onto that leaf; unless it holds source edits that leaf lacks (an old
 * title made on it): those are merged onto it, as an edit of such a leaf is (below). {@link dropStaleTranslations} ends such leaves with a deterministic
 * tombstone (`divan: { ended: "stale" }`: it ends that leaf, not the entity), so every replica that decides
 * the same writes the same revision, and replication converges. A source document a retirement ended (its tombstone
 * `divan: { ended: "retired" }`) still dates the translations made of it: its current revision is the one that tombstone
 * ended (a device that upgraded offline across the retirement brings a translation of it only then).
 *
 * A user's edit of such a rebuilt translation (a device that upgraded offline holding only the old version's
 * translation of a new-version document, and edited it with the new app) is merged instead: the fields the edit
 * changed, and the source's edits that leaf lacks, are set on the leaf it should have been made on, as a child of it, and the edited leaf ends
 * (`divan: { merged: true }`), both with deterministic revisions; a field that leaf changed too stays a conflict (changed
 * since the newest of its revisions the source holds the translation of: a group set on the new version after the
 * translation does not change the old version's document, so it was seen as much as the old version shows it).
 *
 * A deletion wins over a concurrent edit of the same document: when a document has a deletion leaf (an app's,
 * or a transformer's carrying one; not a tombstone that only ends a leaf) whose history meets a live leaf's,
 * every live leaf ends with a deterministic tombstone of the same type and version, and the caller translates
 * the entity again (so its other documents end too). Otherwise the edit would win CouchDB's order and leave a
 * half-deleted entity (one document of a split entity without the other).
 *
 * A replica that has not yet received the newer source revision sees no stale leaf and leaves the conflict
 * alone; leaves with user edits are never touched (the transformer's conflict rule reports those). When
 * every leaf is stale, the one translated from the newest source revisions stays (on a tie, the winning one), for
 * the transformer to bring up to date: replicas whose sources are at different revisions then keep the same leaf.
 */
import { createStepGraph, type CompiledPath } from "../../adapters/path.js";
import type { StepDefinition } from "../../adapters/steps.js";
import type { Entity, Shape } from "../../adapters/types.js";
import { historyOf, type Change, type Doc, type DocumentStore, type Seq } from "../../store/port.js";
import { withDeterministicRev } from "../runner/canonical.js";
import { familiesOf, familyOf, familyShape } from "./plan.js";
import { compareRevs, contentHash, ending, endingOf, isDeletion, isPristine, PROVENANCE_FIELD, provenanceOf, sameUserContent, stableJson, userContent } from "./provenance.js";
import type { Transformer } from "./transformer.js";

/** Documents (or changes) read per page. */
const PAGE = 500;

/** A side's name (the provenance `from`) and the store holding its documents. */
export interface StaleScanSide {
  readonly name: string;
  readonly store: DocumentStore;
  /** Type → major version the side holds (needed, with the steps, to merge edits of rebuilt translations). */
  readonly shape?: Shape;
}

/** What {@link dropStaleTranslations} needs besides the sides to merge an edit of a translation rebuilt without its base. */
export interface StaleScanOptions {
  /** Every step between the sides' shapes (without them, such edits stay in conflict). */
  readonly steps?: readonly StepDefinition[];
  /** Attribute holding the type (default `schema`) and the major version (default `version`). */
  readonly typeField?: string;
  readonly versionField?: string;
}


/**
 * Ends every stale leaf (see the module comment) of the documents in the sides' stores with a
 * deterministic tombstone; returns the ids of the documents it ended a leaf of (their entities are to be
 * translated again: `Transformer.translateIds`). Scans each store once (`_all_docs` with conflicts), so it
 * belongs where a replica settles, not on every write.
 */
export async function dropStaleTranslations(sides: readonly StaleScanSide[], options: StaleScanOptions = {}): Promise<string[]> {
  const storeOf = new Map(sides.map((s) => [s.name, s.store]));
  const ctx = stepsContext(sides, options);
  const current = new Map<DocumentStore, Map<string, Promise<Doc | undefined>>>();
  const currentOf = (store: DocumentStore, id: string): Promise<Doc | undefined> => {
    let docs = current.get(store);
    if (docs === undefined) current.set(store, (docs = new Map()));
    let found = docs.get(id);
    if (found === undefined) {
      found = store.get(id, { revs: true }).catch(() => lastBeforeRetirement(store, id));
      docs.set(id, found);
    }
    return found;
  };
  /** Position of `rev` in the history of source document `id` (0: current), or `undefined` when unknown. */
  const age = async (source: DocumentStore, id: string, rev: string): Promise<number | undefined> => {
    const now = await currentOf(source, id);
    if (now === undefined) return undefined;
    const i = historyOf(now).indexOf(rev);
    return i < 0 ? undefined : i;
  };
  /**
   * `leaf` was translated from revisions older than the current source revisions (one of them strictly), which are
   * to be translated in turn: a current source revision that is itself pristine output translated from another side
   * (a translation of this very document, maybe of this leaf) is never translated back, so it makes no leaf outdated;
   * nor do current revisions whose translation onto `leaf` is `leaf` (nothing will replace it).
   */
  const outdated = async (source: DocumentStore, leaf: Doc): Promise<boolean> => {
    const p = provenanceOf(leaf)!;
    let older = false;
    for (const [id, rev] of Object.entries(p.revs)) {
      const i = await age(source, id, rev);
      if (i === undefined) return false;
      if (i === 0) continue;
      const now = (await currentOf(source, id))!;
      if (isPristine(now) && provenanceOf(now)?.from !== p.from) return false;
      older = true;
    }
    return older && !(await translatesTo(ctx, leaf, (id) => currentOf(source, id)));
  };
  /**
   * `other` (another leaf of the same document) holds everything `leaf` does: it was translated from the same
   * source documents at the same or newer revisions, and either from a newer one, or edited since, or it
   * comes first in CouchDB's order (of two identical translations, one stays).
   */
  const covers = async (source: DocumentStore, leaf: Doc, other: Doc): Promise<boolean> => {
    const p = provenanceOf(leaf)!;
    const q = provenanceOf(other);
    if (q === undefined || q.from !== p.from) return false;
    let newer = false;
    for (const [id, rev] of Object.entries(p.revs)) {
      const theirs = q.revs[id];
      if (theirs === undefined) return false;
      if (theirs === rev) continue;
      const [mine, them] = [await age(source, id, rev), await age(source, id, theirs)];
      if (mine === undefined || them === undefined || them > mine) return false;
      newer = true;
    }
    if (newer || !isPristine(other)) return true;
    // Of two translations of the same revisions, one written on a user's edit (a group) holds more than a bare one.
    const [mine, theirs] = [await isBare(ctx, storeOf, leaf), await isBare(ctx, storeOf, other)];
    if (mine === true && theirs === false) return true;
    if (mine === false && theirs === true) return false;
    return compareRevs(other._rev ?? "", leaf._rev ?? "") > 0;
  };
  const isStale = async (holder: DocumentStore, leaf: Doc, leaves: readonly Doc[]): Promise<boolean> => {
    const p = provenanceOf(leaf);
    const source = p === undefined ? undefined : storeOf.get(p.from);
    if (p === undefined || source === undefined || !isPristine(leaf)) return false;
    let replaced = (await outdated(source, leaf)) || (await translatesSibling(source, holder, leaf, leaves, { age, currentOf }));
    for (const other of leaves) if (!replaced && other !== leaf) replaced = await covers(source, leaf, other);
    if (replaced && !(await keepsUserEdit(ctx, storeOf, holder, leaf, leaves))) return true;
    // Unless it holds source edits `other` lacks: then it is merged onto `other` (`mergeRebuilt`), not ended.
    for (const other of leaves) if (other !== leaf && (await rebuilt(source, holder, leaf, other)) && (await mergeRebuilt(holder, [leaf, other])).length === 0) return true;
    return false;
  };
  /** Revisions `leaf`'s source documents are behind their current ones (see {@link newestTranslation}). */
  const behind = async (leaf: Doc): Promise<number> => {
    const p = provenanceOf(leaf)!;
    let n = 0;
    for (const [id, rev] of Object.entries(p.revs)) n += (await age(storeOf.get(p.from)!, id, rev)) ?? Number.POSITIVE_INFINITY;
    return n;
  };

  const mergeRebuilt = rebuiltEditMerger(ctx, storeOf, rebuilt);
  const dropped: string[] = [];
  for (const store of new Set(sides.map((s) => s.store))) {
    const tombstones: Doc[] = await deletionsWin(store);
    const deleting = new Set(tombstones.map((t) => t._id));
    // Page by page (the service scans whole databases periodically): memory stays bounded.
    for (let startkey: string | undefined; ; ) {
      const page = await store.allDocs({ includeDocs: true, conflicts: true, limit: PAGE, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
      for (const row of page.rows) {
        const winner = row.doc;
        if (winner?._conflicts === undefined || winner._conflicts.length === 0) continue;
        const losers = await Promise.all(winner._conflicts.map((rev) => store.get(winner._id, { rev })));
        const leaves = [winner, ...losers];
        if (deleting.has(winner._id)) continue;
        const stale: Doc[] = [];
        for (const leaf of leaves) if (await isStale(store, leaf, leaves)) stale.push(leaf);
        const freshest = stale.length === leaves.length ? await newestTranslation(leaves, behind) : undefined;
        const ended = stale.length === leaves.length ? stale.filter((l) => l !== freshest) : stale;
        for (const leaf of ended) tombstones.push(withDeterministicRev(ending({ _id: leaf._id, _rev: leaf._rev! }, "stale")));
        if (ended.length === 0) tombstones.push(...(await mergeRebuilt(store, leaves)));
      }
      if (page.rows.length < PAGE) break;
      startkey = page.rows[page.rows.length - 1]!.id;
    }
    if (tombstones.length > 0) {
      await store.bulkDocs(tombstones, { newEdits: false });
      dropped.push(...new Set(tombstones.map((t) => t._id)));
    }
  }
  return dropped;
}

/**
 * What a transformer runs where its replica settles (after a sync on a device; on start and periodically in
 * `divan serve --transform`): {@link dropStaleTranslations} over its sides, with its steps unless `options` gives
 * others, then the entities of the documents it ended a leaf of translated again. Resolves with those documents' ids.
 */
export async function endStaleTranslations(transformer: Transformer, options: StaleScanOptions = {}): Promise<string[]> {
  const sides = transformer.sides.map((side) => ({ name: side.name, store: side.store, shape: side.shape }));
  const ended = await dropStaleTranslations(sides, { ...options, steps: options.steps ?? transformer.steps });
  if (ended.length > 0) await transformer.translateIds(ended);
  return ended;
}

/** How the scan dates source revisions: a revision's position in its document's history (0: current), and the current revision. */
interface SourceDating {
  readonly age: (source: DocumentStore, id: string, rev: string) => Promise<number | undefined>;
  readonly currentOf: (source: DocumentStore, id: string) => Promise<Doc | undefined>;
}

/**
 * The source moved on from `leaf`'s source revisions to a pristine translation of another leaf of `leaf`'s document
 * (a revision in that leaf's history, not in `leaf`'s): a replica that held the revisions in between found that
 * leaf's edit a fast-forward, where the one that wrote `leaf` (without their bodies) found it concurrent and wrote
 * `leaf` as a winning branch. The verdict with more evidence wins: nothing translates the source back (it is that
 * translation), so ending `leaf` leaves the document at what the source shows.
 */
async function translatesSibling(source: DocumentStore, holder: DocumentStore, leaf: Doc, leaves: readonly Doc[], dating: SourceDating): Promise<boolean> {
  const p = provenanceOf(leaf)!;
  const own = new Set(historyOf(await holder.get(leaf._id, { rev: leaf._rev!, revs: true })));
  for (const [id, rev] of Object.entries(p.revs)) {
    const i = await dating.age(source, id, rev);
    if (i === undefined || i === 0) continue;
    const now = (await dating.currentOf(source, id))!;
    const q = provenanceOf(now);
    const named = q?.revs[leaf._id];
    if (!isPristine(now) || q === undefined || q.from === p.from || named === undefined || own.has(named)) continue;
    for (const other of leaves) {
      if (other !== leaf && historyOf(await holder.get(other._id, { rev: other._rev!, revs: true })).includes(named)) return true;
    }
  }
  return false;
}

/**
 * Document `id` of `store` as it was when a retirement ended it (its winner is the tombstone `divan: { ended: "retired" }`):
 * the revision that tombstone ended, with its history, which still dates the translations made of it (a retirement
 * ends only what the supported versions hold translated, and the retired side stays a source). Where that revision's
 * body is gone (CouchDB's compaction keeps the bodies of leaves only), its history alone. `undefined` for any other
 * document that cannot be read.
 */
async function lastBeforeRetirement(store: DocumentStore, id: string): Promise<Doc | undefined> {
  try {
    const rev = (await store.allDocs({ keys: [id] })).rows[0]?.value?.rev;
    const tombstone = rev === undefined ? undefined : await store.get(id, { rev, revs: true });
    if (tombstone === undefined || endingOf(tombstone) !== "retired" || tombstone._revisions === undefined) return undefined;
    const { start, ids } = tombstone._revisions;
    const ended = ids.length < 2 ? undefined : `${start - 1}-${ids[1]}`;
    if (ended === undefined) return undefined;
    const history = { _id: id, _rev: ended, _revisions: { start: start - 1, ids: ids.slice(1) } };
    return await store.get(id, { rev: ended, revs: true }).catch(() => history);
  } catch {
    return undefined;
  }
}

/** Tombstones for the live leaves of documents that also have a concurrent deletion leaf (see the module comment). */
async function deletionsWin(store: DocumentStore): Promise<Doc[]> {
  const out: Doc[] = [];
  for (let since: Seq | undefined; ; ) {
    const page = await store.changes({ style: "all_docs", limit: PAGE, ...(since === undefined ? {} : { since }) });
    if (page.results.length === 0) return out;
    since = page.lastSeq;
    out.push(...(await concurrentDeletions(store, page.results)));
  }
}

/** {@link deletionsWin} for one page of changes. */
async function concurrentDeletions(store: DocumentStore, results: readonly Change[]): Promise<Doc[]> {
  const out: Doc[] = [];
  for (const c of results) {
    if (c.changes.length < 2 || c.id.startsWith("_")) continue;
    const leaves = (await store.bulkGet(c.changes.map(({ rev }) => ({ id: c.id, rev })), { revs: true })).flatMap((r) => ("ok" in r ? [r.ok] : []));
    const live = leaves.filter((l) => l._deleted !== true);
    const deletions = leaves.filter(isDeletion);
    if (live.length === 0 || deletions.length === 0) continue;
    const concurrent = deletions.find((d) => {
      const ancestors = new Set(historyOf(d).slice(1));
      return live.some((l) => historyOf(l).slice(1).some((rev) => ancestors.has(rev)));
    });
    if (concurrent === undefined) continue;
    // Typed like the deletion (its type and version), so channels pass it where they passed the deletion.
    const typed: Record<string, unknown> = { ...concurrent };
    for (const k of ["_id", "_rev", "_revisions", "_deleted", PROVENANCE_FIELD]) delete typed[k];
    for (const l of live) out.push(withDeterministicRev({ ...typed, _id: l._id, _rev: l._rev!, _deleted: true }));
  }
  return out;
}

/**
 * `other` holds what `leaf` was translated without: every source document `leaf` was translated from was
 * made on (a translation of) `other`'s document at `other`'s revision or an ancestor of it (its provenance
 * names it), but `leaf` was written where that document was missing (its history shares no revision with
 * `other`'s), so without it as base (a device that
 * had only received the translation, and maybe edited it, translated it back). Translating the source
 * again, onto `other`, writes what `leaf` should have been.
 */
async function rebuilt(source: DocumentStore, holder: DocumentStore, leaf: Doc, other: Doc): Promise<boolean> {
  const history = historyOf(await holder.get(other._id, { rev: other._rev!, revs: true }));
  // Written beside a revision of `other`'s history (a winning branch of the conflict rule, or on an
  // ancestor), it had that document as base: not what this rule ends.
  if (historyOf(await holder.get(leaf._id, { rev: leaf._rev!, revs: true })).some((rev) => history.includes(rev))) return false;
  for (const [id, rev] of Object.entries(provenanceOf(leaf)!.revs)) {
    const found = (await source.bulkGet([{ id, rev }]))[0];
    const base = found !== undefined && "ok" in found ? provenanceOf(found.ok)?.revs[leaf._id] : undefined;
    if (base === undefined || !history.includes(base)) return false;
  }
  return true;
}

/**
 * Of leaves that are all stale, the one translated from the newest source revisions (the fewest revisions `behind`
 * the current ones; the first in CouchDB's order on a tie): what another replica, whose source is at that revision,
 * keeps too, as it finds only the others outdated. Keeping CouchDB's winner instead, two replicas could end
 * complementary leaves and, once replicated, every leaf of the document: a deletion nobody made.
 */
async function newestTranslation(leaves: readonly Doc[], behind: (leaf: Doc) => Promise<number>): Promise<Doc> {
  let best: { leaf: Doc; behind: number } | undefined;
  for (const leaf of leaves) {
    const n = await behind(leaf);
    if (best === undefined || n < best.behind) best = { leaf, behind: n };
  }
  return best!.leaf;
}

/** `leaf` holds only what its source revisions give translated without a base (`undefined`: not known here). */
async function isBare(ctx: StepsContext, storeOf: ReadonlyMap<string, DocumentStore>, leaf: Doc): Promise<boolean | undefined> {
  const source = storeOf.get(provenanceOf(leaf)?.from ?? "");
  const t = source === undefined ? undefined : await bareTranslation(ctx, source, leaf);
  return t === undefined ? undefined : sameUserContent(t.out, leaf);
}

/**
 * `leaf` holds what its translation took from the document it was written on (a group a user set on the new
 * version) and no other leaf holds it: none reads the same, and none was made on that document. It is then the
 * only leaf with that edit, so no stale copy (two devices that translated one source revision onto their own
 * concurrent edits hold a users' conflict).
 */
async function keepsUserEdit(ctx: StepsContext, storeOf: ReadonlyMap<string, DocumentStore>, holder: DocumentStore, leaf: Doc, leaves: readonly Doc[]): Promise<boolean> {
  if ((await isBare(ctx, storeOf, leaf)) !== false) return false;
  const parent = historyOf(await holder.get(leaf._id, { rev: leaf._rev!, revs: true }))[1];
  for (const other of leaves) {
    if (other === leaf) continue;
    if (sameUserContent(other, leaf)) return false;
    if (parent !== undefined && historyOf(await holder.get(other._id, { rev: other._rev!, revs: true })).includes(parent)) return false;
  }
  return true;
}

/** What {@link bareTranslation} gives: the source entity a leaf was translated from, and its translation without a base. */
interface BareTranslation {
  /** The source documents at the leaf's provenance revisions (without provenance), by type. */
  readonly src: Entity;
  /** The revision of the leaf's document the first source document was translated from, if it is one. */
  readonly at: string | undefined;
  /** The leaf's type translated from `src` without a base. */
  readonly out: Doc;
  /** The family's path from the source shape to the leaf's. */
  readonly path: CompiledPath;
}

/** Steps, as {@link bareTranslation} needs them. */
interface StepsContext {
  readonly sides: readonly StaleScanSide[];
  readonly graph: ReturnType<typeof createStepGraph> | undefined;
  readonly families: ReadonlyMap<string, string>;
  readonly typeField: string;
  readonly versionField: string;
}

function stepsContext(sides: readonly StaleScanSide[], options: StaleScanOptions): StepsContext {
  const [typeField, versionField] = [options.typeField ?? "schema", options.versionField ?? "version"];
  const graph = options.steps === undefined ? undefined : createStepGraph(options.steps, { typeField, versionField });
  return { sides, graph, families: familiesOf(options.steps ?? []), typeField, versionField };
}

/**
 * The source revisions `leaf` was translated from (its provenance), read from `source`, and `leaf`'s type translated
 * from them without a base (what a transformer writes where the target holds nothing); `undefined` when a source
 * revision's body is not here, no steps were given, or the path fails.
 */
async function bareTranslation(ctx: StepsContext, source: DocumentStore, leaf: Doc): Promise<BareTranslation | undefined> {
  const p = provenanceOf(leaf)!;
  const path = pathOf(ctx, leaf);
  if (path === undefined) return undefined;
  const src: Entity = {};
  let at: string | undefined;
  for (const [id, rev] of Object.entries(p.revs)) {
    const found = (await source.bulkGet([{ id, rev }]))[0];
    if (found === undefined || !("ok" in found)) return undefined;
    at ??= provenanceOf(found.ok)?.revs[leaf._id];
    const { [PROVENANCE_FIELD]: _p, _revisions: _r, ...body } = found.ok;
    src[String(body[ctx.typeField])] = body;
  }
  try {
    const o = path(src, undefined)[String(leaf[ctx.typeField])];
    return o === undefined ? undefined : { src, at, out: { ...o, _id: leaf._id }, path };
  } catch {
    return undefined;
  }
}

/** The path of `leaf`'s family from the side its provenance names to `leaf`'s own side; `undefined` without steps, sides or a path. */
function pathOf(ctx: StepsContext, leaf: Doc): CompiledPath | undefined {
  const p = provenanceOf(leaf)!;
  const type = String(leaf[ctx.typeField]);
  const from = ctx.sides.find((x) => x.name === p.from)?.shape;
  const to = ctx.sides.find((x) => x.name !== p.from && x.shape?.[type] === leaf[ctx.versionField])?.shape;
  if (ctx.graph === undefined || from === undefined || to === undefined) return undefined;
  const family = familyOf(ctx.families, type);
  try {
    return ctx.graph.path(familyShape(ctx.families, from, family), familyShape(ctx.families, to, family));
  } catch {
    return undefined;
  }
}

/**
 * The current source revisions of `leaf`'s provenance (`currentOf`), translated with `leaf` as base, give exactly its
 * content: it is their translation, though made of older revisions (the newer ones changed only what its side cannot
 * show). False when that is not known here (no steps, a source document without a body, a failing path).
 */
async function translatesTo(ctx: StepsContext, leaf: Doc, currentOf: (id: string) => Promise<Doc | undefined>): Promise<boolean> {
  const p = provenanceOf(leaf)!;
  const type = String(leaf[ctx.typeField]);
  const path = pathOf(ctx, leaf);
  if (path === undefined) return false;
  const src: Entity = {};
  for (const id of Object.keys(p.revs)) {
    const now = await currentOf(id);
    if (now === undefined || now._deleted === true || typeof now[ctx.typeField] !== "string") return false;
    const { [PROVENANCE_FIELD]: _p, _revisions: _r, _conflicts: _c, ...body } = now;
    src[String(body[ctx.typeField])] = body;
  }
  const { [PROVENANCE_FIELD]: _p, _revisions: _r, _conflicts: _c, ...base } = leaf;
  try {
    const o = path(src, { base: { [type]: base } })[type];
    return o !== undefined && sameUserContent({ ...o, _id: leaf._id }, leaf);
  } catch {
    return false;
  }
}

/**
 * The merge of an edit of a translation rebuilt without its base (see the module comment): given a document's leaves,
 * the writes that merge the first such edited leaf onto the leaf it should have been made on, or none.
 */
function rebuiltEditMerger(
  ctx: StepsContext,
  storeOf: ReadonlyMap<string, DocumentStore>,
  rebuilt: (source: DocumentStore, holder: DocumentStore, leaf: Doc, other: Doc) => Promise<boolean>,
): (holder: DocumentStore, leaves: readonly Doc[]) => Promise<Doc[]> {
  /**
   * `leaf`, a user's edit of a translation that was {@link rebuilt} without `other` as base (a device that had only
   * received the old version's translation of `other` and upgraded offline), merged onto `other`: the fields the
   * edit changed (against the translation it was made on, its provenance `hash` proves which) set on `other`.
   * Returns the merged document (a child of `other`) and the tombstone ending `leaf` (`divan: { merged: true }`),
   * both with deterministic revisions; `undefined` when the translation cannot be rebuilt here or `other` changed
   * one of those fields too (a concurrent edit: the conflict stays).
   */
  const merged = async (source: DocumentStore, holder: DocumentStore, leaf: Doc, other: Doc): Promise<Doc[] | undefined> => {
    const bare = await bareTranslation(ctx, source, leaf);
    if (bare === undefined || contentHash(bare.out) !== provenanceOf(leaf)!.hash) return undefined;
    const { src, at, out: o, path } = bare;
    const type = String(leaf[ctx.typeField]);
    // What `other` changed since the revision the edit was (indirectly) made on: a field both changed is a
    // concurrent edit. That revision's body may be gone; the translation then stands for it. A later revision of
    // `other` that changed only what the source cannot show (a group, seen from the old version) was made on as
    // well: the source held its translation (which is why no newer one was written there).
    const shows = (r: Doc): boolean => {
      const { [PROVENANCE_FIELD]: _p, _revisions: _r, _conflicts: _c, ...body } = r;
      try {
        const up = path(src, { base: { [type]: body } })[type];
        return up !== undefined && sameUserContent({ ...up, _id: r._id }, r);
      } catch {
        return false;
      }
    };
    const history = at === undefined ? [] : historyOf(await holder.get(other._id, { rev: other._rev!, revs: true }));
    let then: Doc | undefined;
    for (const rev of history.slice(0, Math.max(0, history.indexOf(at!)))) {
      const r = rev === other._rev ? other : await holder.get(other._id, { rev }).catch(() => undefined);
      if (r !== undefined && shows(r)) {
        then = r;
        break;
      }
    }
    then ??= at === undefined || at === other._rev ? other : await holder.get(other._id, { rev: at }).catch(() => ({ ...o, _id: leaf._id }));
    const [mine, was, theirs, base] = [userContent(leaf), userContent({ ...o, _id: leaf._id }), userContent(other), userContent(then)];
    const { _conflicts: _c, _revisions: _o, ...doc } = other;
    // The source's edits `other` lacks (an old title the rebuilt leaf holds) are set too, unless `other` changed them since.
    const { [PROVENANCE_FIELD]: _p, ...body } = doc;
    let up: Record<string, unknown>;
    try {
      up = userContent({ ...path(src, { base: { [type]: body } })[type], _id: other._id });
    } catch {
      return undefined;
    }
    for (const k of new Set([...Object.keys(up), ...Object.keys(theirs)])) {
      if (stableJson(up[k]) === stableJson(theirs[k])) continue;
      if (stableJson(theirs[k]) !== stableJson(base[k])) return undefined;
      if (up[k] === undefined) delete doc[k];
      else doc[k] = up[k];
    }
    for (const k of new Set([...Object.keys(mine), ...Object.keys(was)])) {
      const [m, w, t] = [stableJson(mine[k]), stableJson(was[k]), stableJson(theirs[k])];
      if (m === w) continue;
      if (t !== stableJson(base[k]) && t !== m) return undefined;
      if (mine[k] === undefined) delete doc[k];
      else doc[k] = mine[k];
    }
    if (isPristine(leaf) && sameUserContent(doc as Doc, other)) return undefined; // a bare translation adding nothing: stale
    return [withDeterministicRev(doc), withDeterministicRev({ _id: leaf._id, _rev: leaf._rev!, _deleted: true, [PROVENANCE_FIELD]: { merged: true } })];
  };
  /** The writes merging the first edited leaf that was rebuilt without another leaf as base onto it (see `merged`). */
  return async (holder: DocumentStore, leaves: readonly Doc[]): Promise<Doc[]> => {
    for (const leaf of leaves) {
      const p = provenanceOf(leaf);
      const source = p === undefined ? undefined : storeOf.get(p.from);
      if (source === undefined) continue;
      for (const other of leaves) {
        if (other === leaf || !(await rebuilt(source, holder, leaf, other))) continue;
        const writes = await merged(source, holder, leaf, other);
        if (writes !== undefined) return writes;
      }
    }
    return [];
  };
}
