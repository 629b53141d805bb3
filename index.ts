/**
 * `divan`: versioned schemas, bidirectional steps, the document-store port and every migration
 * strategy. Browser code should import `divan/client`; Node services `divan/server`.
 *
 * - Schemas: {@link createRegistry} / {@link loadRegistry}, manifests ({@link resolveManifest}),
 *   change classification ({@link classifyChange}), `validate_doc_update` from schemas ({@link schemaDesignDoc}).
 * - Steps: declarative lens operations and typed function steps, compiled paths ({@link createStepGraph}).
 * - Store: the {@link DocumentStore} port over PouchDB ({@link pouchStore}) and CouchDB HTTP ({@link httpStore}).
 * - Strategies: the {@link Strategy} interface, a factory per strategy taking the app's change
 *   (`createAmendedStrategy({ change: { from, to } })`, …), the eager
 *   runner ({@link runMigration}), the replication transformer ({@link createTransformer}) and channels.
 *
 * @packageDocumentation
 */
export { DivanError, ERROR_CODES, isDivanError, type DivanErrorCode, type DivanErrorDetails } from "./core/errors.js";
export { redact } from "./core/redact.js";

export {
  createRegistry,
  type Identity,
  type InferRule,
  type JsonSchema,
  type Registry,
  type RegistryOptions,
  type SchemaFile,
  type ValidationIssue,
  type ValidationResult,
} from "./schemas/registry.js";
export { loadManifests, loadRegistry, loadSchemaFiles } from "./schemas/load.js";
export { compatibilityMatrix, parseManifest, resolveManifest, type CompatibilityMatrix, type Manifest } from "./schemas/manifest.js";
export { classifyChange, type Classification, type SchemaChange } from "./schemas/classify.js";
export { schemaDesignDoc, type SchemaDesignDoc, type SchemaDesignDocOptions } from "./schemas/design-doc.js";
export { generateTypes } from "./schemas/codegen.js";

export {
  DISPLACED_FIELD,
  createStepGraph,
  defineFunctionStep,
  defineStep,
  documentStep,
  formatDocId,
  multiVersionIds,
  parseDocId,
  reverseOp,
  reverseStep,
  singleVersionIds,
  type CompiledPath,
  type DeclarativeStep,
  type Entity,
  type IdScheme,
  type Op,
  type Shape,
  type Step,
  type StepDefinition,
  type StepGraph,
  type TranslateOptions,
} from "./adapters/index.js";

export type * from "./store/port.js";
export { pouchStore, openPouchStore, PouchStore } from "./store/pouch.js";
export { httpStore, HttpStore } from "./store/http.js";
export { openStore } from "./store/open.js";
export { replicate, replicateLive } from "./store/replicate.js";
export { readEntityVersions, readVersions, versionView } from "./store/versions.js";

export type * from "./strategies/types.js";
export { createNoneStrategy } from "./strategies/none/index.js";
export { createNonBreakingStrategy } from "./strategies/non-breaking/index.js";
export { createPerVersionDatabaseStrategy, type PerVersionDatabaseOptions } from "./strategies/per-version-database/index.js";
export { createPerVersionDocumentsStrategy, type PerVersionDocumentsOptions } from "./strategies/per-version-documents/index.js";
export { createLiveAdapterStrategy, type LiveAdapterStrategyOptions } from "./strategies/live-adapter/index.js";
export { createTransactionalStrategy, createTransactionalOnlineStrategy, type TransactionalOptions } from "./strategies/transactional/index.js";
export { createAmendedStrategy, type AmendedOptions } from "./strategies/amended/index.js";
export { createClientSideStrategy, type ClientSideOptions } from "./strategies/client-side/index.js";
export { createClientTransformerStrategy, type ClientTransformerOptions } from "./strategies/client-transformer/index.js";
export { createServerLazyStrategy, type ServerLazyStrategyOptions } from "./strategies/server-lazy/index.js";
export * from "./strategies/runner/index.js";
export { createTransformer, type Transformer, type TransformerOptions, type TransformerSide, type TransformerStatus } from "./strategies/transformer/transformer.js";
export { channelSelector, manifestChannel, retirementOf, RETIRED_DOC_ID } from "./strategies/channels.js";
