/**
 * The eager migration runner's public API (issue 7): `runMigration` / `createMigration`, `verifyStore`,
 * `rollbackMigration`, deterministic revisions and the `_local` state helpers. Browser-safe.
 *
 * @packageDocumentation
 */
export { Migration, createMigration, defaultMigrationId, planTarget, runMigration } from "./runner.js";
export { canonicalJson, sameContent, withDeterministicRev } from "./canonical.js";
export { TypedEmitter, type Listener } from "./events.js";
export {
  acquireLease,
  checkpointId,
  leaseId,
  quarantineId,
  readCheckpoint,
  readLease,
  readQuarantine,
  releaseLease,
  type LeaseState,
} from "./local.js";
export type {
  CheckpointState,
  DocumentResult,
  LeaseOptions,
  MigrationEvents,
  MigrationOptions,
  MigrationPlan,
  MigrationReport,
  MigrationTotals,
  ProgressEvent,
  QuarantineRecord,
  RetryOptions,
  Selection,
} from "./types.js";
export { forgetMigration, rollbackMigration, verifyStore, type RollbackOptions, type VerifyIssue, type VerifyReport } from "./verify.js";
export { resolveMigrationConflicts, type ResolveConflictsOptions, type ResolveConflictsReport } from "./conflicts.js";
