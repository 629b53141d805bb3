/**
 * `divan/server` (Node only): the embedded CouchDB-compatible server, the replication transformer
 * service, and the Node PouchDB constructor. The CLI (`divan`) is built on these.
 *
 * @packageDocumentation
 */
export { startEmbeddedServer, type EmbeddedServer, type EmbeddedServerOptions } from "./embedded.js";
export {
  startTransformerService,
  type ServiceStatus,
  type TransformerService,
  type TransformerServiceOptions,
} from "./transformer/service.js";
export { loadTransformConfig, type TransformConfig } from "./transformer/config.js";
export { NodePouchDB, pouchDefaults } from "../store/pouchdb-node.js";
export { defineConfig, loadConfig, loadStepDefinitions, resolveConfig, type DivanConfig, type ResolvedConfig } from "./config.js";
