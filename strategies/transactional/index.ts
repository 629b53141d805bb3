/**
 * `transactional`: the classic maintenance-window migration, and its online variant.
 *
 * Offline (`transactional`): on release, the main database goes into maintenance mode (a design document
 * whose `validate_doc_update` refuses every write with a "maintenance" reason), every document is copied
 * and migrated into a new database (`<main>-v<major>`) by the eager runner, the copy is verified (every
 * document of the new shape at its version), and apps switch: a device bound to the new app replicates
 * with the new database. The old database stays in maintenance: old apps can read but never write again
 * (they are told to update; once the old app is retired, the lock also lets through the untyped notice that
 * tells them, and still refuses their data). A document old apps edited concurrently is in conflict at the
 * switch: the copy carries it and each leaf is translated on its own branch, so the users' conflict reaches the
 * new app. The measured downtime is the window during which writes were refused before the switch. Rollback
 * drops the new database.
 *
 * Online (`transactional-online`): copy and migrate while apps keep writing, let the runner's dirty pass
 * follow `_changes`, then lock briefly (maintenance on), catch up with the last changes, and switch: the
 * downtime is the short lock only (expand/contract).
 *
 * Writes the locked database refuses are never dropped: after each sync of an old-app device, the revisions
 * the server did not take are replicated, with their history, into `<main>-refused` (a database of refused
 * writes that nothing locks), and {@link Strategy.refusedWrites} lists them. They also stay on the device,
 * and an upgrade carries them into the new database.
 *
 * Devices that upgrade copy their local data into a fresh local database through the same runner
 * (deterministic revisions, so their copies of the server's documents are the same revisions: no
 * conflicts), keeping edits they had not pushed yet.
 */
import { identityOf } from "../catalog.js";
import type { StepDefinition } from "../../adapters/steps.js";
import type { Shape } from "../../adapters/types.js";
import { DivanError } from "../../core/errors.js";
import { stepGraphOf } from "../steps.js";
import type { DocumentStore } from "../../store/port.js";
import { singleVersionIds } from "../../adapters/ids.js";
import { honourConcurrentDeletes } from "../deletes.js";
import { runMigration } from "../runner/runner.js";
import type { AppVersion, Caveat, RefusedWrite, ReleaseResult, RetireResult, ServerContext, Strategy, StrategyOptions } from "../types.js";
import { bindNew, bindOld, migrateCopiedConflicts, REFUSED_SUFFIX, suffixOf, upgradeToNew } from "./device.js";

/** The id of the maintenance design document. */
export const MAINTENANCE_DOC_ID = "_design/divan-maintenance";

/**
 * The maintenance design document: refuses every write with a "maintenance" reason, except to design
 * documents and the deletions divan mirrors from the new database (`divan: { mirrored: true }`), so a entity
 * deleted after the switch does not live on in the old one. With `notices` (once the old app is retired), it
 * also lets through documents that carry no type (`notices.typeField`) and replace none that does: the notices
 * that tell old apps to update. Data stays refused, so what an old app writes late is still refused and kept.
 */
export function maintenanceDesignDoc(message: string, notices?: { readonly typeField: string }): { _id: string; validate_doc_update: string } {
  const tf = JSON.stringify(notices?.typeField ?? "");
  const notice = notices === undefined ? "" : ` if (typeof newDoc[${tf}] !== "string" && !(oldDoc && typeof oldDoc[${tf}] === "string")) return;`;
  return {
    _id: MAINTENANCE_DOC_ID,
    validate_doc_update: `function (newDoc, oldDoc, userCtx, secObj) { if (newDoc._id.indexOf("_design/") === 0) return; if (newDoc._deleted === true && newDoc.divan && newDoc.divan.mirrored === true) return;${notice} throw({ forbidden: ${JSON.stringify(`maintenance: ${message}`)} }); }`,
  };
}

/**
 * Deletes in `old` (the locked database) every document of an entity deleted in `next` (the new one) since
 * `since`, with tombstones the maintenance document lets through. Returns the sequence read up to.
 */
export async function mirrorDeletions(next: DocumentStore, old: DocumentStore, oldShape: Shape, since?: string): Promise<string> {
  const page = await next.changes(since === undefined ? {} : { since });
  const ids: string[] = [];
  for (const c of page.results) {
    const entity = c.deleted === true ? singleVersionIds.parse(c.id)?.entityId : undefined;
    if (entity !== undefined) for (const [t, v] of Object.entries(oldShape)) ids.push(singleVersionIds.format(t, entity, v));
  }
  if (ids.length > 0) {
    const live = (await old.allDocs({ keys: [...new Set(ids)] })).rows.filter((r) => r.value !== undefined && r.value.deleted !== true);
    if (live.length > 0) await old.bulkDocs(live.map((r) => ({ _id: r.id, _rev: r.value!.rev, _deleted: true, divan: { mirrored: true } })));
  }
  return page.lastSeq;
}

/** Turns maintenance mode on (idempotent; see {@link maintenanceDesignDoc} for `notices`). */
export async function enterMaintenance(store: DocumentStore, message: string, notices?: { readonly typeField: string }): Promise<void> {
  const doc = maintenanceDesignDoc(message, notices);
  const current = await store.get(MAINTENANCE_DOC_ID).catch(() => undefined);
  await store.put({ ...doc, ...(current?._rev === undefined ? {} : { _rev: current._rev }) });
}

/** Every document of a type in `shape` is at the shape's version; `CONFIG_INVALID` names the first one that is not. */
export async function verifyShape(store: DocumentStore, shape: Shape, typeField = "schema", versionField = "version"): Promise<number> {
  const page = await store.allDocs({ includeDocs: true });
  let checked = 0;
  for (const row of page.rows) {
    const d = row.doc;
    if (d === undefined || d === null || d._id.startsWith("_design/")) continue;
    const t = d[typeField];
    if (typeof t !== "string" || shape[t] === undefined) continue;
    checked++;
    if (d[versionField] !== shape[t]) {
      throw new DivanError("SCHEMA_INVALID", `verify failed: ${d._id} is ${t}@${String(d[versionField])}, expected @${shape[t]}; not switching`, { details: { id: d._id } });
    }
  }
  return checked;
}

/** What {@link copyAndSwitch} did. */
export interface SwitchResult {
  /** Documents the copies wrote. */
  readonly written: number;
  /** Milliseconds from locking the source to the end of the last copy: the window in which writes were refused. */
  readonly downtimeMs: number;
}

/**
 * The copy-and-switch of `transactional` (offline: lock the source with the maintenance design document, then
 * copy) and `transactional-online` (copy while apps write, then lock and copy what changed meanwhile, so writes
 * are refused only during the last copy). `copy` copies and migrates the source into the target (the eager
 * runner, resuming from its checkpoint: the second copy only reads what changed). The source stays locked: apps
 * switch to the target. Used by the strategy and by `divan migrate --switch`.
 */
export async function copyAndSwitch(source: DocumentStore, options: { readonly online: boolean; readonly message: string; readonly copy: () => Promise<number> }): Promise<SwitchResult> {
  let written = 0;
  if (options.online) written += await options.copy();
  const lockedAt = Date.now();
  await enterMaintenance(source, options.message);
  written += await options.copy();
  return { written, downtimeMs: Date.now() - lockedAt };
}

/** What the strategy costs the old apps: they lose write access at the switch. */
const LEGACY: Caveat[] = [
  {
    invariant: "apps-read-their-data",
    when: "old-app-after-release",
    reason: "legacy apps lose support: the old database is read-only after the switch and the new one is not readable by old apps",
  },
  {
    invariant: "apps-read-their-data",
    when: "old-app-wrote-after-release",
    reason: "what old apps write after the switch is refused by the old database, so no app reads it",
  },
  {
    invariant: "no-lost-fields",
    when: "refused-write-kept",
    reason: "old apps' writes after the switch are refused (maintenance): they are kept in the refused-writes database, not in the new one",
  },
  {
    invariant: "no-lost-documents",
    when: "refused-write-kept",
    reason: "what old apps create or delete after the switch is refused: kept in the refused-writes database, not in the new one",
  },
  {
    invariant: "converged",
    when: "refused-write-kept",
    reason: "old devices keep local edits the locked old database refuses (and the refused-writes database keeps them too)",
  },
  {
    invariant: "expected-conflicts-only",
    when: "old-app-wrote-after-release",
    reason: "an edit made with the old app after the copy is copied again when the device upgrades, and differs from the server's copy",
  },
  {
    invariant: "expected-conflicts-only",
    when: "retired",
    reason: "the retirement notice is written on both databases, and a device that upgrades copies the old one's into the new one",
  },
];

/** Options of {@link createTransactionalStrategy}. */
export interface TransactionalOptions extends StrategyOptions {
  /** Copy while apps write and lock only for the final catch-up (default false: lock for the whole copy). */
  readonly online?: boolean;
  /** The app's steps (default: the ones the server and device contexts carry). */
  readonly steps?: readonly StepDefinition[];
}

/** Creates the `transactional` (or, with `online`, `transactional-online`) strategy. */
export function createTransactionalStrategy(options: TransactionalOptions): Strategy {
  const CHANGE = options.change;
  const graphOf = (context: { readonly steps: readonly StepDefinition[] }) => stepGraphOf(options.steps ?? context.steps);
  const online = options.online === true;
  const isNew = (app: AppVersion): boolean => app.version === CHANGE.to;
  let locked = false;
  let mirror: { suffix: string; oldShape: Shape; newShape: Shape; since?: string } | undefined;
  return {
    ...identityOf(online ? "transactional-online" : "transactional", CHANGE),
    caveats: LEGACY,
    migrationCode: "steps",
    prepareServer: async () => {},
    release: async (server: ServerContext, from, to): Promise<ReleaseResult> => {
      const targetDb = await server.open(suffixOf(to));
      const copy = async (): Promise<number> =>
        (await runMigration({ source: server.main, target: targetDb, plan: { graph: graphOf(server), to: to.shape }, deterministicRevs: true })).totals.written; // no lease: one process runs the comparison
      const message = online ? `the database moved to ${server.database}${suffixOf(to)}; update the app` : `migrating to app ${to.version}; update the app`;
      const switched = await copyAndSwitch(server.main, { online, message, copy });
      await migrateCopiedConflicts(targetDb, graphOf(server), to.shape);
      locked = true;
      mirror = { suffix: suffixOf(to), oldShape: { ...from.shape }, newShape: { ...to.shape } };
      await server.open(REFUSED_SUFFIX);
      const verifyStarted = Date.now();
      await verifyShape(targetDb, to.shape);
      // The window lasts until apps may switch: verifying is part of it.
      return { downtimeMs: switched.downtimeMs + (Date.now() - verifyStarted), documentsWritten: switched.written };
    },
    openDevice: async (device) => (isNew(device.app) ? bindNew(device) : bindOld(device, () => locked)),
    upgradeDevice: async (device, _from, previous) => upgradeToNew(device, previous, { graph: graphOf(device), locked: () => locked }),
    settle: async (server) => {
      if (mirror === undefined) return;
      const next = await server.open(mirror.suffix);
      // A deletion in the new database wins over a concurrent translation of the revision it deleted (else the
      // translated document lives on without the entity's other, deleted, documents); a user's own edit that meets a
      // deletion stays, as CouchDB keeps it (`strategies/deletes.ts`).
      await honourConcurrentDeletes(next, { graph: graphOf(server), shapes: [mirror.newShape] });
      mirror.since = await mirrorDeletions(next, server.main, mirror.oldShape, mirror.since);
    },
    retire: async (server, app): Promise<RetireResult> => {
      // The retirement notice (a document without a type) reaches the old apps; their late writes are still refused and kept.
      if (locked) await enterMaintenance(server.main, `app ${app.version} is retired; update the app`, { typeField: "schema" });
      return { purgedDocs: 0, detail: "the old database was read-only since the switch and still refuses data; old apps are told to update" };
    },
    close: async () => {},
    refusedWrites: async (server): Promise<RefusedWrite[]> => {
      if (!locked) return [];
      const store = await server.open(REFUSED_SUFFIX);
      const changes = await store.changes({ style: "all_docs" });
      // A device keeps a document with every leaf: the ones the old database has were not refused.
      const missing = await server.main.revsDiff(Object.fromEntries(changes.results.map((c) => [c.id, c.changes.map(({ rev }) => rev)])));
      const leaves = await store.bulkGet(Object.entries(missing).flatMap(([id, d]) => d.missing.map((rev) => ({ id, rev }))), { revs: true });
      return leaves.flatMap((r) => {
        if (!("ok" in r)) return [];
        const h = r.ok._revisions;
        const history = h === undefined ? [r.ok._rev!] : h.ids.map((id, i) => `${h.start - i}-${id}`);
        return [{ id: r.ok._id, rev: r.ok._rev!, history, keptIn: `${server.database}${REFUSED_SUFFIX}` }];
      });
    },
  };
}

/** Creates the `transactional-online` strategy. */
export function createTransactionalOnlineStrategy(options: Omit<TransactionalOptions, "online">): Strategy {
  return createTransactionalStrategy({ ...options, online: true });
}
