/**
 * The eager migration runner's public API (issue 7): `runMigration` / `createMigration`, `verifyStore`,
 * `rollbackMigration`, deterministic revisions and the state helpers (`_local` checkpoints and quarantine, the lease in a state database). Browser-safe.
 *
 * @packageDocumentation
 */
export { Migration, createMigration, defaultMigrationId, planTarget, runMigration } from "./runner.js";
export { canonicalJson, sameContent, withDeterministicRev } from "./canonical.js";
export { TypedEmitter, type Listener } from "./events.js";
export {
  acquireLease,
  checkpointId,
  COPY_MARKER_ID,
  JOBS_ID,
  leaseId,
  quarantineCount,
  quarantineId,
  readCheckpoint,
  readCopyMarker,
  readJobs,
  readLease,
  readQuarantine,
  releaseLease,
  type CopyMarker,
  type JobEntry,
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
export { forgetMigration, rollbackId, rollbackMigration, verifyStore, type RollbackOptions, type VerifyIssue, type VerifyReport } from "./verify.js";
export { resolveMigrationConflicts, type ResolveConflictsOptions, type ResolveConflictsReport } from "./conflicts.js";
