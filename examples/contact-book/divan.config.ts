/**
 * The contact book's divan configuration: a second example app, whose breaking change merges two
 * documents into one and changes a field's type (`divan compare --config examples/contact-book/divan.config.ts`).
 *
 * Paths are relative to this file.
 */
import type { DivanConfig } from "../../server/config.js";

const config: DivanConfig = {
  schemas: "schemas",
  manifests: "manifests",
  steps: "steps/index.ts",
  types: "types.ts",
};

export default config;
