/**
 * One app version's view of the single server database, for the translating proxy: translated reads, synthetic
 * revisions, writes translated up.
 *
 * Documents are read
 * through the live adapter (`strategies/live/adapter.ts`, the same translation core the client-side twin uses),
 * with synthetic revisions from the revision map (`revmap.ts`) kept in `_local` documents of the server
 * database, and writes translated up onto the stored newest shape.
 *
 * Documents of a type no step names (preferences, `_design/`, unknown types) are not views: they pass
 * through with their real revisions.
 */
import { stepTypes, typeFamilies } from "../../adapters/families.js";
import { singleVersionIds } from "../../adapters/ids.js";
import type { StepGraph } from "../../adapters/path.js";
import { sameShape, type Entity, type Shape } from "../../adapters/types.js";
import { createLiveAdapter, type LiveAdapter, type LiveWriteResult, type RowProblem } from "../../strategies/live/adapter.js";
import { stringMd5 } from "pouchdb-md5";
import { isDivanError, messageOf } from "../../core/errors.js";
import { jsonEqual } from "../../core/json.js";
import { AGAIN, CONFLICT_ATTEMPTS, retryOnConflict } from "../../core/retry.js";
import type { Registry } from "../../schemas/registry.js";
import { canonicalJson, contentOf, withDeterministicRev } from "../../strategies/runner/canonical.js";
import type { Doc, DocumentStore, Seq } from "../../store/port.js";
import { KeyedLock } from "./lock.js";
import { listAllDocs, listChanges, type AllDocsOptions, type ChangesOptions, type Served, type ViewChange } from "./listing.js";
import { changedBackSides, mergeContents, pushChangedBack, sameValue } from "./merge.js";
import { couchStatusOf } from "./status.js";
import {
  adoptPushed,
  DELETED_HASH,
  endBranch,
  generationOf,
  hashOf,
  knows,
  mintChild,
  observe,
  onCurrent,
  parseViewRev,
  revisionsOf,
  stateHash,
  viewHash,
  withContent,
  type Revisions,
  type StoredEntity,
  type ViewRev,
} from "./revmap.js";

/** Prefix of the `_local` documents holding revision records. */
export const REV_RECORD_PREFIX = "divan-lazy-rev";
/** Prefix of the `_local` documents holding devices' checkpoints. */
export const CHECKPOINT_PREFIX = "divan-lazy-local";

export type { Served, ViewChange };

/** The outcome of writing one document through a view: its revision, or a CouchDB-style error. */
export type ViewWrite = { id: string; ok: true; rev: string } | { id: string; ok: false; rev?: string; status: number; error: string; reason: string };

/**
 * One document a view is about to write: `pushed` as the device sent it, `doc` what is stored (the same, or
 * it merged onto the stored content); `adopt`: the device's revision becomes the view's; `merged`: a
 * concurrent edit merged, whose branch the view ends.
 */
interface Pending {
  readonly i: number;
  readonly doc: Doc;
  readonly pushed: Doc;
  readonly adopt: boolean;
  readonly merged?: boolean;
  /** The stored documents are to be written again, unchanged, after the record moved (see {@link VersionView.write}). */
  readonly touch?: boolean;
  /**
   * Translate the edit up onto this stored entity (the one of the revision it was made on) rather than onto what is
   * stored now: the edit changed back what this view cannot show, and what is stored now stays on a kept branch.
   */
  readonly onto?: StoredEntity;
}

function failure(id: string, rev: string | undefined, code: string, reason: string): ViewWrite {
  const [status, error] = couchStatusOf(code);
  return { id, ok: false, ...(rev !== undefined ? { rev } : {}), status, error, reason };
}

/** The app-side content of a pushed document: no revision fields. */
function pushedContent(doc: Doc): Doc {
  const { _rev, _revisions, _conflicts, ...rest } = doc;
  void _rev;
  void _revisions;
  void _conflicts;
  return rest as Doc;
}

/** One app version's translated view of the server database. */
export class VersionView {
  /** The database name the proxy serves this view under. */
  readonly name: string;
  /** The app version's shape. */
  readonly shape: Shape;
  readonly #store: DocumentStore;
  readonly #adapter: LiveAdapter;
  readonly #familyTypes: ReadonlySet<string>;
  readonly #lock: KeyedLock;
  readonly #records = new Map<string, { entry: ViewRev | undefined; localRev: string | undefined }>();
  readonly #graph: StepGraph;
  /** The newest app version's view: writes are stored at its shape. */
  readonly #newest: VersionView;
  /** Type → the types of its entity family (connected by steps). */
  readonly #families: ReadonlyMap<string, readonly string[]>;

  constructor(options: { name: string; shape: Shape; store: DocumentStore; registry: Registry; graph: StepGraph; lock?: KeyedLock; newest?: VersionView }) {
    this.name = options.name;
    this.shape = options.shape;
    this.#store = options.store;
    this.#graph = options.graph;
    this.#adapter = createLiveAdapter(options.store, { registry: options.registry, steps: options.graph, shape: options.shape });
    this.#families = typeFamilies(options.graph.steps.map(stepTypes));
    this.#familyTypes = new Set(this.#families.keys());
    this.#lock = options.lock ?? new KeyedLock();
    this.#newest = options.newest ?? this;
  }

  /** `shape` restricted to the family of `type`. */
  #project(shape: Shape, type: string): Shape {
    const out: Shape = {};
    for (const t of this.#families.get(type) ?? [type]) if (shape[t] !== undefined) out[t] = shape[t]!;
    return out;
  }

  /**
   * The documents to store for an edit made at this view's shape: the edited entity (the pushed documents
   * over the rest of the entity as this view reads it) translated up to the newest shape with the newest
   * stored state (or `onto`, see {@link Pending.onto}) as base. `undefined` when this view is the newest or the entity cannot be read at the
   * newest shape (then the edit is written at this view's shape, onto a newer stored entity if there is one).
   */
  async #upToNewest(pushed: readonly Doc[], onto?: StoredEntity): Promise<Doc[] | undefined> {
    if (this.#newest === this) return undefined;
    const first = singleVersionIds.parse(pushed[0]!._id);
    if (first === undefined) return undefined;
    const from = this.#project(this.shape, first.type);
    const to = this.#project(this.#newest.shape, first.type);
    if (sameShape(from, to) || Object.keys(to).length === 0) return undefined;
    const idOf = (t: string): string => singleVersionIds.format(t, first.entityId, 0);
    const entity: Entity = {};
    const mine = await this.#adapter.allDocs({ keys: Object.keys(from).map(idOf), includeDocs: true });
    for (const row of mine.rows) if (row.doc) entity[singleVersionIds.parse(row.id)!.type] = contentOf(row.doc) as Doc;
    for (const d of pushed) entity[singleVersionIds.parse(d._id)!.type] = pushedContent(d);
    if (Object.keys(from).some((t) => entity[t] === undefined)) return undefined;
    const theirs = await this.#newest.#adapter.allDocs({ keys: Object.keys(to).map(idOf), includeDocs: true });
    if (theirs.rows.some((r) => r.problem !== undefined)) return undefined;
    const base: Entity = {};
    for (const row of theirs.rows) if (row.doc) base[singleVersionIds.parse(row.id)!.type] = row.doc;
    for (const [t, c] of Object.entries(onto ?? {})) base[t] = { ...c, _id: idOf(t) } as Doc;
    const up = this.#graph.path(from, to)(entity, Object.keys(base).length > 0 ? { base } : {});
    return Object.entries(up).map(([t, d]) => {
      const { _rev, _revisions, ...rest } = d;
      void _rev;
      void _revisions;
      return { ...rest, _id: idOf(t) } as Doc;
    });
  }

  /** Writes one entity's edit (documents at this view's shape); one result per pushed document. */
  async #writeEntity(pushed: readonly Doc[], onto?: StoredEntity): Promise<LiveWriteResult[]> {
    const deleting = pushed.some((d) => d._deleted === true);
    let newest: Doc[] | undefined;
    try {
      newest = deleting ? undefined : await this.#upToNewest(pushed, onto);
    } catch (e) {
      const reason = messageOf(e);
      const code = isDivanError(e) ? e.code : "STEP_FAILED";
      return pushed.map((d) => ({ id: d._id, ok: false, error: { code, reason, details: { id: d._id } } }));
    }
    if (newest === undefined) {
      const res = await this.#adapter.bulkDocs(pushed.map(pushedContent));
      if (deleting && res.every((r) => r.ok)) await this.#endConflicts(pushed[0]!._id);
      return res;
    }
    const res = await this.#newest.#adapter.bulkDocs(newest);
    const bad = res.find((r) => !r.ok);
    return pushed.map((d) => (bad === undefined || bad.ok ? { id: d._id, ok: true, rev: "" } : { id: d._id, ok: false, error: bad.error }));
  }

  /**
   * Keeps the stored documents of the entity of `id` as they are now on a conflict branch of their own
   * (a sibling of the current revision, which the next write outranks): what a merge overwrites in a
   * member both edits changed stays on a stored revision, as CouchDB keeps both edits of a conflict.
   */
  async #keepBranch(id: string): Promise<void> {
    const kept: Doc[] = [];
    for (const row of (await this.#store.allDocs({ keys: this.entityIds(id), includeDocs: true })).rows) {
      if (row.doc === undefined || row.doc === null) continue;
      const current = await this.#store.get(row.id, { revs: true });
      const gen = generationOf(current._rev!);
      const own = stringMd5(canonicalJson({ kept: current._rev }));
      const ids = current._revisions?.ids ?? [hashOf(current._rev!)];
      kept.push({ ...contentOf(current), _id: row.id, _rev: `${gen}-${own}`, _revisions: { start: gen, ids: [own, ...ids.slice(1)] } } as Doc);
    }
    if (kept.length > 0) await this.#store.bulkDocs(kept, { newEdits: false });
  }

  /** Writes the stored documents of the entity of `id` again as they are: the feed then shows the entity changed. */
  async #touch(id: string): Promise<void> {
    const docs = (await this.#store.allDocs({ keys: this.entityIds(id), includeDocs: true })).rows.flatMap((r) => (r.doc === undefined || r.doc === null ? [] : [r.doc]));
    if (docs.length > 0) await this.#store.bulkDocs(docs);
  }

  /** Deletes the conflict branches left on the stored documents of the entity of `id` (its winners were deleted). */
  async #endConflicts(id: string): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const live = (await this.#store.allDocs({ keys: this.entityIds(id) })).rows.flatMap((r) => (r.value !== undefined && r.value.deleted !== true ? [{ _id: r.id, _rev: r.value.rev, _deleted: true } as Doc] : []));
      if (live.length === 0) return;
      await this.#store.bulkDocs(live);
    }
  }

  /** True when `id` is a translated document (its type belongs to a step family), false for pass-through. */
  isView(id: string): boolean {
    const type = singleVersionIds.parse(id)?.type;
    return type !== undefined && !id.startsWith("_") && this.#familyTypes.has(type);
  }

  /** Every document id of the entity `id` belongs to, one per family type (for doc_ids filters). */
  entityIds(id: string): string[] {
    const parsed = singleVersionIds.parse(id);
    if (parsed === undefined) return [id];
    return [...this.#familyTypes].map((t) => singleVersionIds.format(t, parsed.entityId, 0));
  }

  // ------------------------------------------------------------------------------ revision records

  #localId(id: string): string {
    return `${REV_RECORD_PREFIX}:${this.name}:${id}`;
  }

  async #record(id: string): Promise<{ entry: ViewRev | undefined; localRev: string | undefined }> {
    const cached = this.#records.get(id);
    if (cached !== undefined) return cached;
    const local = await this.#store.getLocal(this.#localId(id));
    const rec = { entry: parseViewRev(local), localRev: local?._rev };
    this.#records.set(id, rec);
    return rec;
  }

  /** Saves a record; `false` when another writer changed it (the cache is dropped: read again). */
  async #save(id: string, entry: ViewRev, localRev: string | undefined): Promise<boolean> {
    try {
      const r = await this.#store.putLocal({ _id: this.#localId(id), ...(localRev !== undefined ? { _rev: localRev } : {}), ...entry });
      this.#records.set(id, { entry, localRev: r.rev });
      return true;
    } catch (e) {
      this.#records.delete(id);
      if (isDivanError(e, "CONFLICT")) return false;
      throw e;
    }
  }

  /** The current revision record of view `id` without reading the documents (may be stale). */
  async recorded(id: string): Promise<ViewRev | undefined> {
    return (await this.#record(id)).entry;
  }

  // ------------------------------------------------------------------------------ reads

  /**
   * The stored entity of view `id` at the newest shape, as the newest view reads it (type → content), for a view
   * older than the stored shape; `undefined` for the newest view (its content is what is stored).
   */
  async #storedEntity(id: string): Promise<StoredEntity | undefined> {
    const parsed = singleVersionIds.parse(id);
    if (this.#newest === this || parsed === undefined) return undefined;
    const types = Object.keys(this.#project(this.#newest.shape, parsed.type));
    const page = await this.#newest.#adapter.allDocs({ keys: types.map((t) => singleVersionIds.format(t, parsed.entityId, 0)), includeDocs: true });
    const out: Record<string, Record<string, unknown>> = {};
    for (const row of page.rows) if (row.doc !== undefined && row.doc !== null) out[singleVersionIds.parse(row.id)!.type] = contentOf(row.doc);
    return out;
  }

  /** The translated document `id` now: the document, `undefined` when absent, or why it cannot be read. */
  async #fresh(id: string): Promise<{ doc: Doc | undefined } | { problem: RowProblem }> {
    const page = await this.#adapter.allDocs({ keys: [id], includeDocs: true });
    const row = page.rows[0];
    if (row?.problem !== undefined) return { problem: row.problem };
    return { doc: row?.doc ?? undefined };
  }

  /**
   * The served state of view `id`: the translated content and its synthetic revision (minted and
   * recorded when the content changed). `precomputed` is content the caller already translated: used
   * when it is what the record stands for. `undefined` for a view that does not exist and never did;
   * a {@link RowProblem} when the entity cannot be translated (e.g. a part has not replicated yet).
   */
  async serve(id: string, precomputed?: { doc: Doc | undefined }): Promise<Served | undefined | RowProblem> {
    return this.#lock.with([this.#localId(id)], () =>
      retryOnConflict(`the revision record of ${id} in ${this.name}`, async (): Promise<Served | undefined | RowProblem | typeof AGAIN> => {
        const rec = await this.#record(id);
        const stored = await this.#storedEntity(id);
        if (precomputed !== undefined && rec.entry !== undefined && stateHash(precomputed.doc, stored) === rec.entry.hash) {
          return { entry: rec.entry, doc: rec.entry.deleted ? undefined : precomputed.doc };
        }
        const now = await this.#fresh(id);
        if ("problem" in now) return now.problem;
        const current = now.doc;
        const observed = observe(rec.entry, stateHash(current, stored));
        const entry = observed.changed && observed.entry !== undefined ? withContent(observed.entry, current, stored) : observed.entry;
        if (entry === undefined) return undefined;
        if (!observed.changed || (await this.#save(id, entry, rec.localRev))) return { entry, doc: entry.deleted ? undefined : current };
        return AGAIN;
      }, { details: { id } }),
    );
  }

  /** A served view as CouchDB returns it (`_revisions` with `revs`). */
  render(id: string, served: Served, revs: boolean): Doc {
    const rev = served.entry.rev;
    const out: Doc = served.doc === undefined ? { _id: id, _rev: rev, _deleted: true } : { ...contentOf(served.doc), _id: id, _rev: rev };
    if (revs) out._revisions = revisionsOf(served.entry);
    return out;
  }

  /**
   * The `_conflicts` of view `id` served at `entry`: one revision per conflicting leaf (two devices' edits
   * CouchDB keeps side by side, or a branch a clashing merge kept) of the stored document `id`, and of every
   * stored document of the entity whose type this version does not have (an old version folds it into its
   * documents), so every app version learns that the entity is in conflict, whichever document holds it.
   * The revisions are synthetic (derived from the view, the stored document and its leaf) and of the served
   * revision's generation; their content is not served. Empty when the view is deleted or nothing conflicts.
   */
  async conflicts(id: string, entry: ViewRev): Promise<string[]> {
    if (entry.deleted) return [];
    const page = await this.#store.allDocs({ keys: this.entityIds(id), includeDocs: true, conflicts: true });
    const gen = generationOf(entry.rev);
    const out: string[] = [];
    for (const row of page.rows) {
      const type = singleVersionIds.parse(row.id)?.type;
      if (row.id !== id && (type === undefined || this.shape[type] !== undefined)) continue;
      for (const leaf of row.doc?._conflicts ?? []) out.push(`${gen}-${stringMd5(canonicalJson({ view: this.name, id, conflict: `${row.id}@${leaf}` }))}`);
    }
    return out;
  }

  /** Sets the `_conflicts` of `doc`, a document that is not a view, from the store. */
  async plainConflicts(doc: Doc): Promise<void> {
    const stored = await this.#store.get(doc._id, { conflicts: true }).catch((e: unknown) => (isDivanError(e, "NOT_FOUND") ? undefined : Promise.reject(e)));
    if (stored?._conflicts !== undefined && stored._conflicts.length > 0) doc._conflicts = stored._conflicts;
  }

  /** Rows of `_all_docs` at this version (family rows with synthetic revisions; problem rows left out in ranges). */
  allDocs(options: AllDocsOptions): Promise<{ totalRows: number; rows: Record<string, unknown>[] }> {
    return listAllDocs(this, this.#adapter, options);
  }

  /** One page of translated changes after `since` (see {@link listChanges}). */
  changes(options: ChangesOptions): Promise<{ results: ViewChange[]; lastSeq: Seq }> {
    return listChanges(this, this.#adapter, options);
  }

  // ------------------------------------------------------------------------------ writes

  /** Which of `revs` view `id` does not have (`_revs_diff` for a view). */
  async missing(id: string, revs: readonly string[]): Promise<string[]> {
    const entry = await this.recorded(id);
    return revs.filter((r) => !knows(entry, r));
  }

  /**
   * Writes documents pushed at this version. `replicated` (`new_edits: false`): each document carries the
   * revision the device made; a revision the view has already is skipped; the device's revision becomes
   * the view's current one when its history contains the current one. Else the edit is concurrent: what it
   * changed since the revision it was made on (their newest common one whose content the record keeps; none:
   * everything it holds, what both changed differently a conflict) is merged onto the current content,
   * stored, and served as a child of the view's own revision, and the device's branch is ended with a
   * tombstone served next to it, so every device ends with the merge (and a clash on a kept conflict branch).
   * Otherwise (`new_edits: true`): `_rev` must be the current revision, and the view gets a new child revision.
   */
  async write(docs: readonly Doc[], replicated: boolean): Promise<ViewWrite[]> {
    const ids = docs.map((d) => d._id);
    return this.#lock.with(ids.map((id) => this.#localId(id)), async () => {
      const out: (ViewWrite | undefined)[] = new Array(docs.length);
      const queued: Pending[] = [];
      for (const [i, doc] of docs.entries()) {
        const rec = await this.#record(doc._id);
        if (replicated) {
          if (typeof doc._rev !== "string") {
            out[i] = failure(doc._id, undefined, "BAD_REQUEST", `${doc._id}: a replicated document needs _rev`);
            continue;
          }
          if (knows(rec.entry, doc._rev)) {
            out[i] = { id: doc._id, ok: true, rev: doc._rev };
            continue;
          }
          const revisions = doc._revisions as Revisions | undefined;
          const history = revisions?.ids.map((h, k) => `${revisions.start - k}-${h}`) ?? [];
          const linear = rec.entry === undefined || history.includes(rec.entry.rev);
          // The entity was deleted (through another version's view) after this view served the revision the edit
          // was made on: a deletion wins over a concurrent edit, else the edited document alone would come back
          // next to the entity's deleted ones. The device's revision is recorded and not stored; the next read
          // serves the deletion as its child.
          // When this view recorded the deletion already, the device's branch is ended with a tombstone served
          // next to the view's.
          if (doc._deleted !== true && rec.entry !== undefined && (linear ? !rec.entry.deleted : rec.entry.deleted)) {
            const stored = await this.#fresh(doc._id);
            if ("doc" in stored && stored.doc === undefined) {
              out[i] = linear ? await this.#recordWrite({ i, doc, adopt: true, pushed: doc }, true) : await this.#endPushed(doc._id, doc._rev, revisions);
              continue;
            }
          }
          // What the edit changed is merged onto the content stored now (another view's writes may have
          // changed it since this view served the revision the edit was made on).
          const mergedOnto = doc._deleted === true ? undefined : await this.#merged(doc, rec.entry, history, linear);
          const merged = mergedOnto?.doc;
          const onto = mergedOnto?.onto === undefined ? {} : { onto: mergedOnto.onto };
          // A concurrent edit that could not be merged (the view has no current content): stored as it is, and what
          // it overwrites stays on a stored conflict branch, as CouchDB keeps both edits of a conflict.
          if (!linear && merged === undefined && doc._deleted !== true && rec.entry !== undefined && !rec.entry.deleted) await this.#keepBranch(doc._id);
          // A revision recorded with the content stored already (adopted, or a merge that adds nothing) changes
          // nothing stored: devices following the feed would never see it, so the stored documents are
          // written again (`#touch`).
          const now = linear || merged !== undefined ? await this.#fresh(doc._id) : undefined;
          const same = now !== undefined && "doc" in now && viewHash(now.doc) === viewHash(merged ?? doc);
          if (merged === undefined) queued.push({ i, doc, adopt: linear, pushed: doc, touch: same });
          else queued.push({ i, doc: merged, adopt: linear, merged: !linear, pushed: doc, touch: same, ...onto });
        } else {
          const current = rec.entry !== undefined && !rec.entry.deleted ? rec.entry.rev : undefined;
          if ((doc._rev ?? undefined) !== current) {
            out[i] = failure(doc._id, undefined, "CONFLICT", `Document update conflict: ${doc._id} is at ${current ?? "no revision"}`);
            continue;
          }
          queued.push({ i, doc, adopt: false, pushed: doc });
        }
      }
      // deletions of views that are already gone write nothing
      const writes: typeof queued = [];
      for (const t of queued) {
        if (t.doc._deleted === true) {
          const now = await this.#fresh(t.doc._id);
          if ("doc" in now && now.doc === undefined) {
            out[t.i] = await this.#recordWrite(t, replicated);
            continue;
          }
        }
        writes.push(t);
      }
      for (let attempt = 0; writes.length > 0; attempt++) {
        const byEntity = new Map<string, number[]>();
        writes.forEach((t, k) => {
          const key = singleVersionIds.parse(t.doc._id)?.entityId ?? t.doc._id;
          byEntity.set(key, [...(byEntity.get(key) ?? []), k]);
        });
        const results: LiveWriteResult[] = new Array(writes.length);
        for (const ks of byEntity.values()) {
          const res = await this.#writeEntity(
            ks.map((k) => writes[k]!.doc),
            ks.map((k) => writes[k]!.onto).find((o) => o !== undefined),
          );
          ks.forEach((k, j) => (results[k] = res[j]!));
        }
        const retry: typeof writes = [];
        for (const [k, r] of results.entries()) {
          const t = writes[k]!;
          if (r.ok) {
            out[t.i] = await this.#recordWrite(t, replicated);
            if (t.touch === true) await this.#touch(t.doc._id);
          } else if (r.error.code === "CONFLICT" && attempt < CONFLICT_ATTEMPTS - 1) retry.push(t);
          else out[t.i] = failure(t.doc._id, replicated ? t.doc._rev : undefined, r.error.code, r.error.reason);
        }
        writes.splice(0, writes.length, ...retry);
      }
      return out.map((w, i) => w ?? failure(docs[i]!._id, undefined, "INTERNAL", "no write result"));
    });
  }

  /**
   * The concurrent edit `doc` (history `history`, newest first) merged onto the view's current content:
   * every member it changed since the newest revision of the view's own line in its history (whose content
   * the record keeps), with the pushed `_rev` and `_revisions`. `undefined` when that content is not kept or
   * the view has no current content.
   */
  async #merged(doc: Doc, entry: ViewRev | undefined, history: readonly string[], linear: boolean): Promise<{ doc: Doc; onto?: StoredEntity } | undefined> {
    // The newest common revision whose content the record keeps: a revision both devices made alike (the same edit
    // of the same parent) that the view never served has no content here, and an older common one is as good a base
    // (what either side changed in between may have been changed back, so it clashes rather than wins).
    const common = history.find((r) => onCurrent(entry, r) && entry?.contents?.[r] !== undefined);
    if (common === undefined && linear) return undefined;
    // A concurrent edit without one (a branch of its own, e.g. an offline-upgraded device's pending edit that clashed)
    // is a conflict whatever it holds: what is stored now stays on a kept branch, the edit is merged from nothing (its
    // members win), and the pushed branch is ended as after any merge (stored as it is and not recorded, the device
    // would keep its branch, unknown to the view, as its winner, and push it again at every sync).
    const base = common === undefined ? {} : entry?.contents?.[common];
    if (base === undefined) return undefined;
    const now = await this.#fresh(doc._id);
    if (!("doc" in now) || now.doc === undefined) return undefined;
    const mine = pushedContent(doc) as Record<string, unknown>;
    // Either side may have changed a member and changed it back since `common` (undo): then it holds the base's value
    // on purpose, and the other side's change of it clashes rather than wins.
    const back = common === undefined ? { mine: new Set<string>(), current: new Set<string>() } : changedBackSides(entry, history, common, base);
    const { out, clash } = mergeContents(base, mine, contentOf(now.doc), back);
    const merged: Doc = { ...out, _id: doc._id, _rev: doc._rev!, ...(doc._revisions === undefined ? {} : { _revisions: doc._revisions }) };
    // A view older than the stored shape cannot show every stored member: where the edit changed a member back and
    // another version changed the stored entity since the revision the edit was made on (a status other than done,
    // while an old app set done and undid it), the edit is translated onto the stored entity it was made on, and what
    // is stored now stays on a kept branch (a conflict, for the app to resolve).
    const then = common === undefined ? undefined : entry?.stored?.[common];
    let onto: StoredEntity | undefined;
    if (then !== undefined && pushChangedBack(base, mine, back.mine)) {
      const now = await this.#storedEntity(doc._id);
      if (now !== undefined && !jsonEqual(now, then)) onto = then;
    }
    // Both edits changed one member: the current content stays on a stored conflict branch. A view older than the
    // stored shape also checks what it cannot show: a stored member the edit overwrites that another version
    // changed since the revision the edit was made on (a status other than done, to an old app's "done").
    if (common === undefined || clash || onto !== undefined || (await this.#overwritesUnseen(merged, then))) await this.#keepBranch(doc._id);
    return onto === undefined ? { doc: merged } : { doc: merged, onto };
  }

  /**
   * True when storing `doc` (at this view's shape, translated up onto what is stored now) changes a stored member
   * that differs from `then`, the stored entity of the revision the edit was made on: another version's edit
   * the device had not received. False without `then` (the newest view, or a record from before it was kept).
   */
  async #overwritesUnseen(doc: Doc, then: StoredEntity | undefined): Promise<boolean> {
    if (then === undefined) return false;
    const up = await this.#upToNewest([doc]);
    const now = await this.#storedEntity(doc._id);
    if (up === undefined || now === undefined) return false;
    const same = sameValue;
    return up.some((d) => {
      const type = singleVersionIds.parse(d._id)!.type;
      const mine = pushedContent(d) as Record<string, unknown>;
      const current = now[type] ?? {};
      const before = then[type] ?? {};
      return [...new Set([...Object.keys(mine), ...Object.keys(current)])].some((k) => k !== "_id" && !same(mine[k], current[k]) && !same(current[k], before[k]));
    });
  }

  /** Ends the pushed branch `rev` of view `id` with a tombstone served next to the view's current revision. */
  async #endPushed(id: string, rev: string, revisions: Revisions | undefined): Promise<ViewWrite> {
    return retryOnConflict(`the revision record of ${id} in ${this.name}`, async (): Promise<ViewWrite | typeof AGAIN> => {
      const rec = await this.#record(id);
      if (rec.entry === undefined) return { id, ok: true, rev };
      if (!(await this.#save(id, endBranch(rec.entry, rev, revisions), rec.localRev))) return AGAIN;
      // Nothing stored changes: the deleted entity's tombstones get a child tombstone (CouchDB refuses to update a
      // deleted document, so as a replicated revision), and the feed shows the pushing device the tombstone that
      // ends its branch (else it keeps its edit, alone, as a live leaf the view does not have).
      const tombstones = (await this.#store.allDocs({ keys: this.entityIds(id) })).rows.flatMap((r) => (r.value?.deleted === true ? [withDeterministicRev({ _id: r.id, _rev: r.value.rev, _deleted: true })] : []));
      if (tombstones.length > 0) await this.#store.bulkDocs(tombstones, { newEdits: false });
      return { id, ok: true, rev };
    });
  }

  /**
   * Records a write in the view's revision record. A replicated revision whose history holds the current
   * one is adopted; a merged concurrent one (`merged`, see {@link write}) moves the view to a child of its own
   * revision and ends the pushed branch; another concurrent one records nothing (the next read mints a child
   * of the view's own revision with the stored content; the pushing device keeps its branch as a conflict).
   * A `new_edits` write gets a new child revision. The record keeps the content of its new revision.
   */
  async #recordWrite(t: Pending, replicated: boolean): Promise<ViewWrite> {
    const id = t.doc._id;
    if (replicated && !t.adopt && t.merged !== true) return { id, ok: true, rev: t.doc._rev! };
    // A device holds what it pushed under its revision; a merge is what is stored (served next).
    const held = t.merged === true ? t.doc : t.pushed;
    const stored = await this.#storedEntity(id);
    const hash = stateHash(held, stored);
    const deleted = hash === DELETED_HASH;
    return retryOnConflict(`the revision record of ${id} in ${this.name}`, async (): Promise<ViewWrite | typeof AGAIN> => {
      const rec = await this.#record(id);
      const revisions = t.doc._revisions as Revisions | undefined;
      const next =
        t.merged === true
          ? endBranch(mintChild(rec.entry, hash, false), t.doc._rev!, revisions)
          : replicated
            ? adoptPushed(t.doc._rev!, revisions, hash, rec.entry)
            : mintChild(rec.entry, hash, deleted);
      const entry = withContent(next, deleted ? undefined : held, stored);
      return (await this.#save(id, entry, rec.localRev)) ? { id, ok: true, rev: replicated ? t.doc._rev! : entry.rev } : AGAIN;
    }).catch((e: unknown) => (isDivanError(e, "CONFLICT") ? failure(id, t.doc._rev, "CONFLICT", messageOf(e)) : Promise.reject(e)));
  }
}

