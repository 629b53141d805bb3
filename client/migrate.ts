/**
 * Migrate-on-open for the eager client case (`client-side` strategy): `await migrateLocal(db, …)` runs
 * the shared eager runner (`strategies/runner/`) on the device's own database before the app uses it.
 *
 * - **Progress**: `onProgress` receives the runner's `progress` events (`done`, `total`, `rate`, `eta`).
 * - **Resumable**: the runner checkpoints in `_local/divan-migration-<id>`; a tab closed mid-way resumes
 *   where it stopped on the next open.
 * - **One migrator across tabs**: the run holds an exclusive lock named after the database
 *   (`client/lock.ts`: Web Locks, else BroadcastChannel election, none in Node). A second tab waits,
 *   then finds the checkpoint done and writes nothing.
 * - **No conflicts between devices**: revisions are derived from content and parent revision by default
 *   (`deterministicRevs`), so devices migrating the same document produce the same revision.
 */
import type { StepGraph } from "../adapters/path.js";
import { createStepGraph } from "../adapters/path.js";
import type { StepDefinition } from "../adapters/steps.js";
import type { Shape } from "../adapters/types.js";
import type { Registry } from "../schemas/registry.js";
import { pouchStore } from "../store/pouch.js";
import type { DocumentStore } from "../store/port.js";
import { createMigration } from "../strategies/runner/runner.js";
import type { DocumentResult, MigrationReport, ProgressEvent } from "../strategies/runner/types.js";
import { withLock, lockKind, type LockKind } from "./lock.js";

/** Options of {@link migrateLocal}. */
export interface MigrateLocalOptions {
  /** The steps (or a graph of them). */
  readonly steps: readonly StepDefinition[] | StepGraph;
  /** The target shape (the app's manifest resolved, e.g. `{ "task": 3, "task-state": 1 }`). */
  readonly to: Shape;
  /** Verify every written document against this registry (invalid ones are quarantined, never lost). */
  readonly registry?: Registry;
  /** Called with every progress event. */
  readonly onProgress?: (progress: ProgressEvent) => void;
  /** Called with every per-document result. */
  readonly onDocument?: (result: DocumentResult) => void;
  /** Run id (checkpoint `_local/divan-migration-<id>`); default derived from the target shape. */
  readonly id?: string;
  /** Documents per page (default 500). */
  readonly batchSize?: number;
  /** Content-derived revisions (default `true`). */
  readonly deterministicRevs?: boolean;
  /** Lock name (default `divan-migrate:<database name>`). */
  readonly lockName?: string;
  /** Force a lock mechanism (default: the best available). */
  readonly lock?: LockKind;
  /** Stops the run between pages; the checkpoint stays for the next open. */
  readonly signal?: AbortSignal;
}

/** What {@link migrateLocal} resolves with. */
export interface MigrateLocalResult {
  /** The runner's report (totals: migrated, skipped, quarantined, …). */
  readonly report: MigrationReport;
  /** The lock mechanism that guarded the run. */
  readonly lock: LockKind;
}

function isStore(db: PouchDB.Database | DocumentStore): db is DocumentStore {
  return typeof (db as DocumentStore).replicationEndpoint === "function";
}

/** Migrates a device's local database to `options.to`, once across tabs, resumably. */
export async function migrateLocal(db: PouchDB.Database | DocumentStore, options: MigrateLocalOptions): Promise<MigrateLocalResult> {
  const store = isStore(db) ? db : pouchStore(db);
  const graph = Array.isArray(options.steps) ? createStepGraph(options.steps as readonly StepDefinition[]) : (options.steps as StepGraph);
  const kind = options.lock ?? lockKind();
  const report = await withLock(
    options.lockName ?? `divan-migrate:${store.name}`,
    async () => {
      const m = createMigration({
        source: store,
        plan: { graph, to: options.to },
        lease: false,
        deterministicRevs: options.deterministicRevs ?? true,
        recordBases: true,
        ...(options.registry !== undefined ? { verify: options.registry } : {}),
        ...(options.id !== undefined ? { id: options.id } : {}),
        ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      });
      if (options.onProgress) m.on("progress", options.onProgress);
      if (options.onDocument) m.on("document", options.onDocument);
      return m.run();
    },
    { kind },
  );
  return { report, lock: kind };
}
