/**
 * `divan`: the library a team migrates its documents with: schemas, steps, paths, the document-store port, the
 * eager runner and the replication transformer. Browser code imports `divan/client`; Node services `divan/server`.
 *
 * Each group below has its section in the README ("API"):
 * - Errors: {@link DivanError} with a stable {@link DivanErrorCode}.
 * - Schemas: the registry ({@link createRegistry}, {@link loadRegistry}), manifests ({@link resolveManifest}),
 *   change classification ({@link classifyChange}) and `validate_doc_update` from schemas ({@link schemaDesignDoc}).
 * - Steps: declarative lens operations ({@link defineStep}) and typed function steps ({@link defineFunctionStep}).
 * - Paths: the step graph that translates an entity between any two shapes ({@link createStepGraph}).
 * - Store: the {@link DocumentStore} port over PouchDB ({@link pouchStore}) and CouchDB HTTP ({@link httpStore}).
 * - Runner: eager migration ({@link runMigration}), verification, rollback and conflict resolution.
 * - Transformer: live translation between the databases of several app versions ({@link createTransformer}).
 *
 * @packageDocumentation
 */

// Errors
export { DivanError, ERROR_CODES, isDivanError, type DivanErrorCode } from "./core/errors.js";

// Schemas
export { createRegistry, type JsonSchema, type Registry, type SchemaFile, type ValidationResult } from "./schemas/registry.js";
export { loadRegistry } from "./schemas/load.js";
export { parseManifest, resolveManifest, type Manifest } from "./schemas/manifest.js";
export { classifyChange, type Classification, type SchemaChange } from "./schemas/classify.js";
export { schemaDesignDoc } from "./schemas/design-doc.js";

// Steps
export { defineFunctionStep, defineStep, documentStep, reverseStep, type DeclarativeStep, type Step, type StepDefinition } from "./adapters/steps.js";
export type { Op } from "./adapters/ops.js";

// Paths
export { createStepGraph, type CompiledPath, type StepGraph } from "./adapters/path.js";
export type { Entity, Shape } from "./adapters/types.js";

// Store
export type { Change, Doc, DocumentStore, Selector, StoreCapabilities } from "./store/port.js";
export { pouchStore, type PouchStoreOptions } from "./store/pouch.js";
export { httpStore, type HttpStoreOptions } from "./store/http.js";

// Runner
export { createMigration, runMigration, type Migration } from "./strategies/runner/runner.js";
export type { DocumentResult, MigrationEvents, MigrationOptions, MigrationReport, ProgressEvent, QuarantineRecord } from "./strategies/runner/types.js";
export { rollbackMigration, verifyStore, type RollbackOptions, type VerifyReport } from "./strategies/runner/verify.js";
export { resolveMigrationConflicts } from "./strategies/runner/conflicts.js";

// Transformer
export { createTransformer, type Transformer, type TransformerOptions } from "./strategies/transformer/transformer.js";
