/**
 * `divan`: versioned schemas, bidirectional steps, the document-store port and every migration
 * strategy. Browser code should import `divan/client`; Node services `divan/server`.
 *
 * - Schemas: {@link createRegistry} / {@link loadRegistry}, manifests ({@link resolveManifest}),
 *   change classification ({@link classifyChange}), `validate_doc_update` from schemas ({@link schemaDesignDoc}).
 * - Steps: declarative lens operations and typed function steps, compiled paths ({@link createStepGraph}).
 * - Store: the {@link DocumentStore} port over PouchDB ({@link pouchStore}) and CouchDB HTTP ({@link httpStore}).
 * - Strategies: the {@link Strategy} interface, every registered strategy ({@link allStrategies}), the eager
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
export { allStrategies, createStrategy, strategyNames } from "./strategies/all.js";
export * from "./strategies/runner/index.js";
export { createTransformer, type Transformer, type TransformerOptions, type TransformerSide, type TransformerStatus } from "./strategies/transformer/transformer.js";
export { channelSelector, manifestChannel, retirementOf, RETIRED_DOC_ID } from "./strategies/channels.js";
