/**
 * The device side of `transactional`: an old app's writes the locked database refuses are kept, and an upgrade copies
 * the device's data into the new database, deleting again what the old app or the old database deleted.
 */
import type { StepGraph } from "../../adapters/path.js";
import type { Shape } from "../../adapters/types.js";
import type { DocumentStore, Doc } from "../../store/port.js";
import { replicate } from "../../store/replicate.js";
import { singleVersionIds } from "../../adapters/ids.js";
import { withDeterministicRev } from "../runner/canonical.js";
import { isDivanError } from "../../core/errors.js";
import { runMigration } from "../runner/runner.js";
import { resolveMigrationConflicts, type ResolveConflictsOptions, type ResolveConflictsReport } from "../runner/conflicts.js";
import { bindToMain, type AppVersion, type DeviceBinding, type DeviceContext } from "../types.js";

/** The suffix of the database of refused writes (`<main>-refused`). */
export const REFUSED_SUFFIX = "-refused";

/**
 * Keeps what the server refused from `local`: every document with a leaf revision `remote` lacks is
 * replicated, with its history, into `refused`. Returns the ids kept.
 */
export async function keepRefusedWrites(local: DocumentStore, remote: DocumentStore, refused: DocumentStore): Promise<string[]> {
  // Every leaf, deletions too: a refused edit made on a revision another device had already replaced loses
  // CouchDB's order to the server's revision pulled since, and stays on the device as a conflicting leaf.
  const page = await local.changes({ style: "all_docs" });
  const revs: Record<string, string[]> = {};
  for (const c of page.results) if (!c.id.startsWith("_") && c.changes.length > 0) revs[c.id] = c.changes.map((x) => x.rev);
  if (Object.keys(revs).length === 0) return [];
  const missing = Object.keys(await remote.revsDiff(revs));
  if (missing.length > 0) await replicate(local, refused, { docIds: missing });
  return missing;
}

/** The live leaves (id → revisions) of the documents `ids` of `store` that exist and are not deleted. */
async function leavesOf(store: DocumentStore, ids: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (ids.length === 0) return out;
  for (const row of (await store.allDocs({ keys: [...ids], includeDocs: true, conflicts: true })).rows) {
    if (row.doc !== undefined && row.doc !== null) out.set(row.id, [row.doc._rev!, ...(row.doc._conflicts ?? [])].sort());
  }
  return out;
}

/**
 * Ends the copies an upgrade made of data the server already had, from a revision older than the server's: such
 * a copy is a second root next to the copy the switch made of the server's newer revision. `copied` are the
 * leaves the upgrade's copy made (id → revisions); `old` is the device's old local database and `main` the locked
 * old server database. An entity is stale when neither the device nor the server holds its old documents in
 * conflict and the device's revision is not the server's (an entity the device wrote and never pushed, in
 * `unpushed`, aside). The copy of an entity whose old documents the device holds as the server does is the
 * switch's own (deterministic revisions), and one in conflict is the users' conflict, which stays. Where the new
 * local database holds a stale copy and another leaf, the copy is deleted, with a deterministic tombstone: the
 * server's, newer, stays, and no conflict a user never made remains.
 */
async function endStaleCopies(next: DocumentStore, copied: ReadonlyMap<string, readonly string[]>, sources: { readonly old: DocumentStore; readonly main: DocumentStore; readonly unpushed: ReadonlySet<string> }): Promise<void> {
  const entityOf = (id: string): string | undefined => singleVersionIds.parse(id)?.entityId;
  const olds = (await sources.old.allDocs()).rows.filter((r) => r.value !== undefined && r.value.deleted !== true && !r.id.startsWith("_")).map((r) => r.id);
  const [mine, theirs] = await Promise.all([leavesOf(sources.old, olds), leavesOf(sources.main, olds)]);
  const keep = new Set([...sources.unpushed].flatMap((id) => entityOf(id) ?? []));
  const stale = new Set<string>();
  for (const [id, revs] of mine) {
    const entity = entityOf(id);
    if (entity === undefined) continue;
    const there = theirs.get(id) ?? [];
    if (revs.length > 1 || there.length > 1) keep.add(entity);
    else if (there.length === 1 && there[0] !== revs[0]) stale.add(entity);
  }
  const ends: Doc[] = [];
  for (const [id, revs] of copied) {
    const entity = entityOf(id);
    if (entity === undefined || keep.has(entity) || !stale.has(entity)) continue;
    const doc = await next.get(id, { conflicts: true }).catch((e: unknown) => (isDivanError(e, "NOT_FOUND") ? undefined : Promise.reject(e)));
    const leaves = doc === undefined ? [] : [doc._rev!, ...(doc._conflicts ?? [])];
    if (!leaves.some((rev) => !revs.includes(rev))) continue; // nothing of the server's to keep
    for (const rev of revs) if (leaves.includes(rev)) ends.push(withDeterministicRev({ _id: id, _rev: rev, _deleted: true }));
  }
  if (ends.length > 0) await next.bulkDocs(ends, { newEdits: false });
}

/**
 * Translates, in `target` (a copy just made), each leaf of the documents the copy carried in conflict: old apps'
 * concurrent edits, which one translation per document would drop. Each leaf is translated on its own branch
 * (deterministic revisions, so the server's copy and a device's agree), and the users' conflict reaches the new
 * app at the new version, where it reads the winner and can resolve it.
 */
export async function migrateCopiedConflicts(
  target: DocumentStore,
  graph: StepGraph,
  to: Shape,
  options: Pick<ResolveConflictsOptions, "verify" | "typeField" | "versionField"> = {},
): Promise<ResolveConflictsReport> {
  return resolveMigrationConflicts(target, { ...options, graph, to, deterministicRevs: true });
}

/** The suffix of the database of app version `app` (`-v<major>`). */
export function suffixOf(app: AppVersion): string {
  return `-v${Number.parseInt(app.version, 10)}`;
}

/** Binds a device of the new app to the new database, through a fresh local database. */
export async function bindNew(device: DeviceContext): Promise<DeviceBinding> {
  const local = await device.openLocal(suffixOf(device.app));
  return { store: local, sync: [{ local, database: suffixOf(device.app) }] };
}

/** Binds a device of the old app to the main database; after every sync once `locked()`, keeps what the server refused. */
export function bindOld(device: DeviceContext, locked: () => boolean): DeviceBinding {
  const binding = bindToMain(device);
  const synced = async (): Promise<undefined> => {
    if (!locked()) return undefined;
    try {
      await keepRefusedWrites(device.local, await device.server(""), await device.server(REFUSED_SUFFIX));
    } catch (e) {
      if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
    }
    return undefined;
  };
  return { ...binding, synced };
}

/**
 * Upgrades a device to the new app: binds it to the new database, with its old local data copied in through the
 * `graph` (migrated); `locked()` says whether the old database refuses writes yet.
 */
export async function upgradeToNew(device: DeviceContext, previous: DeviceBinding, context: { readonly graph: StepGraph; readonly locked: () => boolean }): Promise<DeviceBinding> {
  const { graph, locked } = context;
  const next = await bindNew(device);
  // Keep what the device had not pushed: copy its old local database into the new one, migrated. A copy
  // starts new revision trees, so the old app's deletions are applied again in the new database: after each
  // sync, whatever of a deleted entity the new database holds is deleted (deterministic tombstones).
  await runMigration({ source: previous.store, target: next.store, plan: { graph, to: device.app.shape }, deterministicRevs: true, lease: false, followChanges: false });
  await migrateCopiedConflicts(next.store, graph, device.app.shape);
  // The leaves the copy made: where the device's data was stale (the server had newer revisions, copied at the
  // switch), its copy is a second root next to the server's, which ends at the first sync (below).
  const copied = new Map<string, string[]>();
  for (const c of (await next.store.changes({ style: "all_docs" })).results) if (c.deleted !== true) copied.set(c.id, c.changes.map((x) => x.rev));
  // Online, the new app starts from the new database (what new apps wrote since the switch); offline, from the copy.
  try {
    await replicate(await device.server(suffixOf(device.app)), next.store);
  } catch (e) {
    if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
  }
  // Todos deleted on the device with the old app, and (from the first time the server is reached) on the old
  // database: the copy may hold a entity the device had not heard was deleted.
  const deleted = new Set<string>();
  const addDeleted = async (store: DocumentStore): Promise<void> => {
    for (const c of (await store.changes({})).results) {
      const entity = c.deleted === true ? singleVersionIds.parse(c.id)?.entityId : undefined;
      if (entity !== undefined) deleted.add(entity);
    }
  };
  await addDeleted(previous.store);
  // What the old app wrote and the locked database never took is recorded as refused too, at the first sync.
  let recorded = false;
  const synced = async (): Promise<undefined> => {
    if (!recorded) {
      try {
        const main = await device.server("");
        const unpushed = new Set(locked() ? await keepRefusedWrites(previous.store, main, await device.server(REFUSED_SUFFIX)) : []);
        await addDeleted(main);
        await endStaleCopies(next.store, copied, { old: previous.store, main, unpushed });
        recorded = true;
      } catch (e) {
        if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
      }
    }
    const ids = [...deleted].flatMap((e) => Object.entries(device.app.shape).map(([t, v]) => singleVersionIds.format(t, e, v)));
    if (ids.length === 0) return undefined;
    const live = (await next.store.bulkGet(ids.map((id) => ({ id })))).flatMap((r) => ("ok" in r && r.ok._deleted !== true ? [r.ok] : []));
    if (live.length > 0) await next.store.bulkDocs(live.map((d) => withDeterministicRev({ _id: d._id, _rev: d._rev!, _deleted: true })), { newEdits: false });
    return undefined;
  };
  await synced(); // what the upgrade pulled of a entity the old app deleted
  return { ...next, synced };
}
