/**
 * `divan/client`: the browser-safe part of divan (no Node built-ins; a test bundles it for the browser).
 *
 * - {@link divan}: the PouchDB plugin, registered explicitly: `PouchDB.plugin(divan)`, then
 *   `db.divan({ registry, steps, manifest })` and `db.divan.get/allDocs/find/changes/put/bulkDocs` read and
 *   write documents at the app's versions whatever version is stored (live adapters, lazy migration).
 * - {@link createLiveAdapter} / {@link liveStore}: the same over any divan `DocumentStore`.
 * - {@link migrateLocal}: eager migrate-on-open with progress, a `_local` checkpoint and one migrator across tabs.
 * - {@link migrateAfterSync}: what such a device runs after each sync (`client-side` strategy): old apps' edits that
 *   conflict with the migration merged three ways (a real clash reported), concurrent deletions honoured, then `migrateLocal`;
 *   {@link mergeAfterSync}, the same without migrating, for an old app that learned the new steps from the database.
 * - {@link startDeviceTransformer}: the transformer a new-app device runs on its own databases (client-side
 *   transformers), eager or lazy, with deterministic revisions; its `store` is what the app reads and writes.
 * - {@link syncChannel} / {@link compactChannel}: replication through an app version's channel (multi-version storage).
 *
 * @packageDocumentation
 */
export { divan, type DivanHandle, type DivanPluginProps, type PouchAllDocsOptions } from "./plugin.js";
export {
  LiveAdapter,
  createLiveAdapter,
  type EntityPagesOptions,
  type LiveChange,
  type LiveChangesPage,
  type LiveConfig,
  type LiveEntityPage,
  type LiveFindResult,
  type LivePage,
  type LiveRow,
  type LiveWriteResult,
  type RowProblem,
} from "../strategies/live/adapter.js";
export { liveStore } from "../strategies/live/store.js";
export { migrateLocal, type MigrateLocalOptions, type MigrateLocalResult } from "./migrate.js";
export {
  mergeAfterSync,
  migrateAfterSync,
  type MergeAfterSyncOptions,
  type MergeAfterSyncResult,
  type MigrateAfterSyncOptions,
  type MigrateAfterSyncResult,
} from "./after-sync.js";
export { lockKind, withLock, type LockKind, type LockOptions } from "./lock.js";
export {
  startDeviceTransformer,
  type DeviceTransformer,
  type DeviceTransformerOptions,
  type DeviceVersion,
} from "../strategies/transformer/device.js";
export type { Transformer, TransformerStatus } from "../strategies/transformer/transformer.js";
export { compactChannel, readRetirement, syncChannel, type ChannelSyncOptions, type ChannelSyncResult, type CompactOptions, type CompactResult, type LocalDatabase } from "./channel.js";
export { createRegistry, type Registry, type SchemaFile } from "../schemas/registry.js";
export { parseManifest, resolveManifest, type Manifest } from "../schemas/manifest.js";
export { createStepGraph, type StepGraph } from "../adapters/path.js";
export type { DeclarativeStep, Step, StepDefinition } from "../adapters/steps.js";
export { DivanError, isDivanError, type DivanErrorCode } from "../core/errors.js";
export { pouchStore } from "../store/pouch.js";
