/**
 * Deletions that meet an in-place migration: a deletion wins over a concurrent migrated revision, so a
 * deleted entity does not come back.
 *
 * Deletions that meet an in-place migration (single-version storage migrated where it is stored:
 * `amended` on the server, `client-side` on devices). An app that has not seen a migration deletes the
 * revision the migration started from; both replicate, and CouchDB's winner is the live, migrated
 * revision: the deleted document comes back. The rule here: a deletion wins over a concurrent revision.
 *
 * A deleted leaf is *concurrent with a migration* when its history meets a live leaf's at a revision divan
 * translated on that leaf's line: someone deleted (perhaps after editing it) the very revision a migration started
 * from. A deletion concurrent with a user's own edit (the live line's first revision past the common ancestor is
 * the user's) is left as CouchDB left it, the edit live: that is the users' conflict, with or without a migration;
 * unless the deletion ended the entity, a document next to this one in its shape deleted on every leaf (an edit of
 * one document does not bring back the others: the entity would be half there, and the deletion wins).
 * The migration is told by the `divan.bases` the leaf records (an in-place migration records the revision it
 * translated, and apps carry the attribute on), so it holds where replication carried the leaf's body alone;
 * without a record, by the version changing from the ancestor's body to its child's where both bodies are here.
 * Tombstones that end a merged losing branch carry `divan: { merged: true }` (`strategies/runner/conflicts.ts`)
 * and are left alone. When one is found, every live leaf of the document and the entity's other documents (e.g.
 * the `task-state` the migration split off) are deleted. Likewise a document deleted on every leaf ends the entity's other
 * documents: an old app deletes the only document it knows (and each of its conflicting revisions), never the
 * ones a migration split off, which would otherwise stay, live, as the deleted entity. With `deterministicRevs`
 * the tombstones' revisions come from their content and parent, so every replica that applies the rule writes
 * the same ones. Browser-safe.
 */
import { singleVersionIds, type IdScheme } from "../adapters/ids.js";
import type { StepGraph } from "../adapters/path.js";
import { isDivanError } from "../core/errors.js";
import { historyOf, type Doc, type DocumentStore, type Seq } from "../store/port.js";
import { basesOf } from "./runner/bases.js";
import { withDeterministicRev } from "./runner/canonical.js";
import { familiesOf, familyOf } from "./transformer/plan.js";

/** Options of {@link honourConcurrentDeletes}. */
export interface ConcurrentDeletesOptions {
  /** The steps (their families name the entity's other documents). */
  readonly graph: StepGraph;
  /** Every (type, major) documents of an entity may have in this store, e.g. the old and the new shape. */
  readonly shapes: readonly Readonly<Record<string, number>>[];
  readonly ids?: IdScheme;
  /** Write tombstones with revisions derived from content (replicas applying the rule agree). */
  readonly deterministicRevs?: boolean;
  /** Only look at changes after this sequence (what did not change since was looked at before). */
  readonly since?: Seq;
  /** The attribute holding a document's version (default `version`): a translation changes it. */
  readonly versionField?: string;
}


/** Changes read per request. */
const CHANGES_PAGE = 500;

/** True for the tombstone that ends a merged conflict branch. */
function isMergeEnd(doc: Doc): boolean {
  const marker = doc["divan"];
  return typeof marker === "object" && marker !== null && (marker as { merged?: unknown }).merged === true;
}

/**
 * Whether divan translated revision `ancestor` on the line of live leaf `leaf` (read with its history): the leaf
 * records `ancestor` as a base, or, where the bodies are here, the revision after `ancestor` on the line has another
 * version than `ancestor`.
 */
async function migratedFrom(store: DocumentStore, leaf: Doc, ancestor: string, versionField: string): Promise<boolean> {
  if (basesOf(leaf)[ancestor] !== undefined) return true;
  const history = historyOf(leaf);
  const child = history[history.indexOf(ancestor) - 1];
  if (child === undefined) return false;
  const [parentRead, childRead] = child === leaf._rev ? [(await store.bulkGet([{ id: leaf._id, rev: ancestor }]))[0], { ok: leaf }] : await store.bulkGet([{ id: leaf._id, rev: ancestor }, { id: leaf._id, rev: child }]);
  if (parentRead === undefined || childRead === undefined || !("ok" in parentRead) || !("ok" in childRead)) return false;
  const [before, after] = [parentRead.ok, childRead.ok];
  if (before._deleted === true || after._deleted === true) return false;
  return basesOf(after)[ancestor] !== undefined || before[versionField] !== after[versionField];
}

/**
 * Whether one of `deletions` (each a tombstone's history, past the tombstone) deleted a revision divan translated on
 * the line of one of `leaves` (live, read with their histories): the newest revision both lines hold.
 */
async function meetsMigration(store: DocumentStore, leaves: readonly Doc[], deletions: readonly (readonly string[])[], versionField: string): Promise<boolean> {
  for (const leaf of leaves) {
    const history = new Set(historyOf(leaf));
    for (const deleted of deletions) {
      const ancestor = deleted.find((rev) => history.has(rev));
      if (ancestor !== undefined && (await migratedFrom(store, leaf, ancestor, versionField))) return true;
    }
  }
  return false;
}

/** Applies the rule of the module comment to every document of `store` (changed after `since`); returns the entity ids deleted. */
export async function honourConcurrentDeletes(store: DocumentStore, options: ConcurrentDeletesOptions): Promise<string[]> {
  const ids = options.ids ?? singleVersionIds;
  const versionField = options.versionField ?? "version";
  const families = familiesOf(options.graph.steps);
  const deleted: string[] = [];
  /** The entity's documents other than `id` (of every shape), or `undefined` for an id outside the scheme. */
  const othersOf = (id: string): { entityId: string; others: string[] } | undefined => {
    const parsed = ids.parse(id);
    if (parsed === undefined) return undefined;
    const family = familyOf(families, parsed.type);
    const others = new Set<string>();
    for (const shape of options.shapes) {
      for (const [t, v] of Object.entries(shape)) if (familyOf(families, t) === family) others.add(ids.format(t, parsed.entityId, v));
    }
    others.delete(id);
    return { entityId: parsed.entityId ?? id, others: [...others] };
  };
  /** Tombstones for every live leaf of the documents among `others` (a conflicting leaf would win once the winner is gone). */
  const endLive = async (others: readonly string[]): Promise<Doc[]> => {
    const rows = others.length === 0 ? [] : (await store.allDocs({ keys: [...others] })).rows;
    const out: Doc[] = [];
    for (const row of rows) {
      if (row.value === undefined || row.value.deleted === true) continue;
      const doc = await store.get(row.id, { conflicts: true });
      for (const rev of [doc._rev!, ...(doc._conflicts ?? [])]) out.push({ _id: row.id, _rev: rev, _deleted: true });
    }
    return out;
  };
  const write = async (writes: readonly Doc[]): Promise<void> => {
    if (writes.length === 0) return;
    if (options.deterministicRevs === true) await store.bulkDocs(writes.map((d) => withDeterministicRev(d)), { newEdits: false });
    else await store.bulkDocs([...writes]);
  };
  // Deleted on every leaf, a document every shape has (one an old app knows): the entity's other documents go too.
  // (A document only older shapes have is deleted by the migration that merged it into another.)
  const everywhere = (id: string): boolean => {
    const type = ids.parse(id)?.type;
    return type !== undefined && options.shapes.every((shape) => shape[type] !== undefined);
  };
  /**
   * Whether a document of the entity that `live`'s own shape has next to it is deleted on every leaf: the user deleted
   * the entity, and an edit of one of its documents does not bring back the others (the entity would be half there).
   */
  const siblingDeleted = async (live: Doc): Promise<boolean> => {
    const parsed = ids.parse(live._id);
    if (parsed === undefined) return false;
    const family = familyOf(families, parsed.type);
    const siblings = new Set<string>();
    for (const shape of options.shapes) {
      if (shape[parsed.type] === undefined || shape[parsed.type] !== live[versionField]) continue;
      for (const [t, v] of Object.entries(shape)) if (t !== parsed.type && familyOf(families, t) === family) siblings.add(ids.format(t, parsed.entityId, v));
    }
    if (siblings.size === 0) return false;
    return (await store.allDocs({ keys: [...siblings] })).rows.some((row) => row.value?.deleted === true);
  };
  // Page by page, so a large feed is never held at once.
  let since: Seq | undefined = options.since;
  for (;;) {
    const page = await store.changes({ ...(since === undefined ? {} : { since }), style: "all_docs", limit: CHANGES_PAGE });
    const ended = page.results.filter((c) => c.deleted === true && !c.id.startsWith("_") && everywhere(c.id)).map((c) => othersOf(c.id)).filter((o) => o !== undefined);
    const orphans = await endLive([...new Set(ended.flatMap((o) => o.others))]);
    await write(orphans);
    const orphaned = new Set(orphans.map((d) => d._id));
    for (const o of ended) if (o.others.some((id) => orphaned.has(id))) deleted.push(o.entityId);
    for (const c of page.results) {
      if (c.changes.length < 2 || c.id.startsWith("_")) continue;
      let winner: Doc;
      try {
        winner = await store.get(c.id, { conflicts: true, revs: true });
      } catch (e) {
        if (isDivanError(e, "NOT_FOUND")) continue; // deleted already
        throw e;
      }
      const live = new Set([winner._rev, ...(winner._conflicts ?? [])]);
      const tombstones = c.changes.map((x) => x.rev).filter((rev) => !live.has(rev));
      if (tombstones.length === 0) continue;
      const read = await store.bulkGet(tombstones.map((rev) => ({ id: c.id, rev })), { revs: true });
      const deletions = read.flatMap((r) => ("ok" in r && r.ok._deleted === true && !isMergeEnd(r.ok) ? [historyOf(r.ok).slice(1)] : []));
      if (deletions.length === 0) continue;
      const conflicts = (await store.bulkGet((winner._conflicts ?? []).map((rev) => ({ id: c.id, rev })), { revs: true })).flatMap((r) => ("ok" in r ? [r.ok] : []));
      if (!(await meetsMigration(store, [winner, ...conflicts], deletions, versionField)) && !(await siblingDeleted(winner))) continue;
      const writes: Doc[] = [...live].map((rev) => ({ _id: c.id, _rev: rev!, _deleted: true }));
      const entity = othersOf(c.id);
      if (entity !== undefined) {
        writes.push(...(await endLive(entity.others)));
        deleted.push(entity.entityId);
      }
      await write(writes);
    }
    if (page.results.length < CHANGES_PAGE) break;
    since = page.lastSeq;
  }
  return deleted;
}
