/**
 * `transactional`: the classic maintenance-window migration, and its online variant.
 *
 * Offline (`transactional`): on release, the main database goes into maintenance mode (a design document
 * whose `validate_doc_update` refuses every write with a "maintenance" reason), every document is copied
 * and migrated into a new database (`<main>-v<major>`) by the eager runner, the copy is verified (every
 * document of the new shape at its version), and apps switch: a device bound to the new app replicates
 * with the new database. The old database stays in maintenance: old apps can read but never write again
 * (they are told to update). The measured downtime is the window during which writes were refused
 * before the switch. Rollback drops the new database.
 *
 * Online (`transactional-online`): copy and migrate while apps keep writing, let the runner's dirty pass
 * follow `_changes`, then lock briefly (maintenance on), catch up with the last changes, and switch: the
 * downtime is the short lock only (expand/contract).
 *
 * Devices that upgrade copy their local data into a fresh local database through the same runner
 * (deterministic revisions, so their copies of the server's documents are the same revisions: no
 * conflicts), keeping edits they had not pushed yet.
 */
import type { StepDefinition } from "../../adapters/steps.js";
import type { Shape } from "../../adapters/types.js";
import { DivanError } from "../../core/errors.js";
import { stepGraphOf } from "../steps.js";
import type { DocumentStore } from "../../store/port.js";
import { runMigration } from "../runner/runner.js";
import { bindToMain, type AppVersion, type Caveat, type DeviceBinding, type DeviceContext, type ReleaseResult, type RetireResult, type ServerContext, type Strategy, type StrategyOptions } from "../types.js";

/** The id of the maintenance design document. */
export const MAINTENANCE_DOC_ID = "_design/divan-maintenance";

/** The maintenance design document: refuses every write except to design documents, with a "maintenance" reason. */
export function maintenanceDesignDoc(message: string): { _id: string; validate_doc_update: string } {
  return {
    _id: MAINTENANCE_DOC_ID,
    validate_doc_update: `function (newDoc, oldDoc, userCtx, secObj) { if (newDoc._id.indexOf("_design/") === 0) return; throw({ forbidden: ${JSON.stringify(`maintenance: ${message}`)} }); }`,
  };
}

/** Turns maintenance mode on (idempotent). */
export async function enterMaintenance(store: DocumentStore, message: string): Promise<void> {
  const doc = maintenanceDesignDoc(message);
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
  const suffixOf = (app: AppVersion): string => `-v${Number.parseInt(app.version, 10)}`;
  const isNew = (app: AppVersion): boolean => app.version === CHANGE.to;
  const bindNew = async (device: DeviceContext): Promise<DeviceBinding> => {
    const local = await device.openLocal(suffixOf(device.app));
    return { store: local, sync: [{ local, database: suffixOf(device.app) }] };
  };
  const legacy: Caveat[] = [
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
      when: "old-app-wrote-after-release",
      reason: "old apps' writes after the switch are refused (maintenance), so their edits never reach the new database",
    },
    {
      invariant: "no-lost-documents",
      when: "old-app-wrote-after-release",
      reason: "documents old apps create after the switch are refused by the maintenance design document",
    },
    {
      invariant: "converged",
      when: "old-app-wrote-after-release",
      reason: "old devices keep local edits the locked old database refuses",
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
  return {
    name: online ? "transactional-online" : "transactional",
    description: online
      ? "Copy and migrate into a new database while apps keep writing, follow _changes, then switch under a short write lock."
      : "Maintenance window: refuse writes, copy and migrate into a new database, verify, switch; old apps lose write access.",
    taxonomy: { storage: "single-version", timing: "eager", place: "server" },
    change: CHANGE,
    caveats: legacy,
    migrationCode: "steps",
    prepareServer: async () => {},
    release: async (server: ServerContext, _from, to): Promise<ReleaseResult> => {
      const target = await server.open(suffixOf(to));
      const copy = async (): Promise<number> =>
        (await runMigration({ source: server.main, target, plan: { graph: graphOf(server), to: to.shape }, deterministicRevs: true })).totals.written; // no lease: one process runs the comparison
      const message = online ? `the database moved to ${server.database}${suffixOf(to)}; update the app` : `migrating to app ${to.version}; update the app`;
      const switched = await copyAndSwitch(server.main, { online, message, copy });
      const verifyStarted = Date.now();
      await verifyShape(target, to.shape);
      // The window lasts until apps may switch: verifying is part of it.
      return { downtimeMs: switched.downtimeMs + (Date.now() - verifyStarted), documentsWritten: switched.written };
    },
    openDevice: async (device) => (isNew(device.app) ? bindNew(device) : bindToMain(device)),
    upgradeDevice: async (device, _from, previous) => {
      const next = await bindNew(device);
      // Keep what the device had not pushed: copy its old local database into the new one, migrated.
      await runMigration({ source: previous.store, target: next.store, plan: { graph: graphOf(device), to: device.app.shape }, deterministicRevs: true, lease: false, followChanges: false });
      return next;
    },
    settle: async () => {},
    retire: async (server): Promise<RetireResult> => {
      // The old database is abandoned: lift maintenance so the retirement notice reaches the old apps.
      const doc = await server.main.get(MAINTENANCE_DOC_ID).catch(() => undefined);
      if (doc?._rev !== undefined) await server.main.remove(MAINTENANCE_DOC_ID, doc._rev);
      return { purgedDocs: 0, detail: "the old database was read-only since the switch; old apps are told to update" };
    },
    close: async () => {},
  };
}

/** Creates the `transactional-online` strategy. */
export function createTransactionalOnlineStrategy(options: Omit<TransactionalOptions, "online">): Strategy {
  return createTransactionalStrategy({ ...options, online: true });
}
