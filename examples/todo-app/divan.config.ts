/**
 * The todo app's divan configuration, as an app keeps it next to its code. `divan init`
 * copies this folder's config, schemas, manifests, steps and types as the template of a new app.
 *
 * Paths are relative to this file. The database is left to `--db URL` (or add `db: "http://…/todos"`).
 */
import type { DivanConfig } from "../../server/config.js";

const config: DivanConfig = {
  schemas: "schemas",
  manifests: "manifests",
  steps: "steps/index.ts",
  types: "types.ts",
  typeField: "schema",
  versionField: "version",
};

export default config;
