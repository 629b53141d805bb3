/**
 * The one ajv configuration divan uses, so a document gets the same verdict everywhere.
 *
 * The one ajv configuration divan uses. The registry (validation in Node and browsers) and the
 * CouchDB `validate_doc_update` builder both create their instances here, so a document gets the
 * same verdict everywhere.
 *
 * Browser-safe: ajv and ajv-formats only, no Node built-ins.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { FormatsPlugin } from "ajv-formats";

/** A JSON Schema (draft 2020-12) as plain JSON. */
export type JsonSchema = { [keyword: string]: unknown } | boolean;

/** The ajv instance type divan uses (draft 2020-12). */
export type DivanAjv = Ajv2020;

// ajv-formats is CommonJS: under NodeNext the default import is `module.exports`, which is the plugin
// itself at runtime but typed as the module namespace; accept both shapes.
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? (addFormatsModule as unknown as FormatsPlugin);

/**
 * A new ajv instance for draft 2020-12 with every ajv-formats format (full mode).
 *
 * - `allErrors`: a validation result lists every error, not just the first.
 * - `strict: false`: app schemas may carry extra keywords (annotations of their own tools).
 * - `unicodeRegExp: false`: patterns compile without the `u` flag, which CouchDB's ES5-level
 *   JavaScript engine does not know; Node uses the same setting so verdicts stay identical.
 * - `code.es5` + `code.source`: the compiled code can be exported as ES5 standalone source.
 */
export function createAjv(): DivanAjv {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    unicodeRegExp: false,
    code: { es5: true, source: true, lines: false, optimize: true },
  });
  addFormats(ajv, { mode: "full" });
  return ajv;
}
