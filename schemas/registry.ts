/**
 * The versioned schema registry: one JSON Schema per (type, major, minor), documents carry only the
 * major and validate against the newest minor of it.
 *
 * Browser-safe: no `fs`/`path`. Load files from disk with `schemas/load.ts` (Node).
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import { DivanError, messageOf } from "../core/errors.js";
import { createAjv } from "./ajv.js";
import type { JsonSchema } from "./ajv.js";

export type { JsonSchema } from "./ajv.js";

/** One schema file: `<type>/<major>.<minor>.json`. */
export interface SchemaFile {
  /** Document type, e.g. `task`. */
  type: string;
  /** Major version (what documents carry). */
  major: number;
  /** Minor version: a non-breaking revision of the major. */
  minor: number;
  /** The JSON Schema (draft 2020-12). */
  schema: JsonSchema;
}

/** What an {@link InferRule} assigns to an unversioned document. */
export interface InferredIdentity {
  /** Document type. */
  type: string;
  /** Major version. */
  version: number;
}

/**
 * Assigns a type and version to documents that carry none (legacy, unversioned data):
 * either by `_id` prefix (serializable, also honoured by the CouchDB design document) or by a
 * function of the document (Node and browser only).
 */
export type InferRule =
  | { idPrefix: string; type: string; version: number }
  | ((doc: Readonly<Record<string, unknown>>) => InferredIdentity | undefined);

/** Options of {@link createRegistry}. */
export interface RegistryOptions {
  /** Field holding the document type. Default `"schema"`. */
  typeField?: string;
  /** Field holding the major version. Default `"version"`. */
  versionField?: string;
  /** Rules for documents without type/version fields, tried in order. */
  infer?: InferRule[];
}

/** How a document was identified by {@link Registry.identify}. */
export interface Identity {
  /** Document type. */
  type: string;
  /** Major version. */
  version: number;
  /** True when an infer rule assigned type and version (the document does not carry them). */
  inferred: boolean;
}

/** One validation error: where (a JSON pointer into the document), what, and the JSON Schema keyword. */
export interface ValidationIssue {
  /**
   * JSON pointer of the offending value. For `required` (and `additionalProperties`/`dependentRequired`)
   * it points at the missing or extra property itself, so the message names the field.
   */
  pointer: string;
  /** Human-readable message from ajv. */
  message: string;
  /** The failing JSON Schema keyword (`required`, `type`, `enum`, `maxLength`, …). */
  keyword: string;
}

/** The verdict of {@link Registry.validate}. Never thrown. */
export type ValidationResult =
  | { ok: true; type: string; version: number }
  | {
      ok: false;
      /** `SCHEMA_INVALID`: known (type, major) but the document does not match; `UNKNOWN_TYPE`: no schema for it. */
      code: "SCHEMA_INVALID" | "UNKNOWN_TYPE";
      type?: string;
      version?: number;
      errors: ValidationIssue[];
    };

/** The registry: which types and majors exist, their schemas, and document validation. */
export interface Registry {
  /** Field holding the document type. */
  readonly typeField: string;
  /** Field holding the major version. */
  readonly versionField: string;
  /** The infer rules, in order. */
  readonly infer: readonly InferRule[];
  /** Known types, sorted. */
  types(): string[];
  /** Known majors of `type`, ascending (empty for an unknown type). */
  majors(type: string): number[];
  /** True when `type@major` has a schema. */
  has(type: string, major: number): boolean;
  /** The newest minor's schema file of `type@major`; throws `UNKNOWN_TYPE` when there is none. */
  schema(type: string, major: number): SchemaFile;
  /** Every schema file (all minors), sorted by type, major, minor. */
  files(): SchemaFile[];
  /**
   * The type and version of a document: its own fields when both are present (whether or not the
   * registry knows them), else the first matching infer rule, else `undefined`.
   */
  identify(doc: unknown): Identity | undefined;
  /**
   * Validates a document against the newest minor of its major. An inferred document is validated as if it
   * carried its type and version fields. Never throws.
   */
  validate(doc: unknown): ValidationResult;
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Escapes one JSON pointer segment (RFC 6901). */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** Converts ajv errors to {@link ValidationIssue}s (pointers name missing/extra properties). */
export function toIssues(errors: readonly ErrorObject[] | null | undefined): ValidationIssue[] {
  if (!errors) return [];
  return errors.map((e) => {
    const params = e.params as Record<string, unknown>;
    let pointer = e.instancePath;
    const extra =
      e.keyword === "required" || e.keyword === "dependentRequired"
        ? params["missingProperty"]
        : e.keyword === "additionalProperties" || e.keyword === "unevaluatedProperties"
          ? (params["additionalProperty"] ?? params["unevaluatedProperty"])
          : undefined;
    if (typeof extra === "string") pointer = `${pointer}/${pointerSegment(extra)}`;
    return { pointer, message: e.message ?? e.keyword, keyword: e.keyword };
  });
}

/**
 * Builds a registry from schema files. Only the newest minor of each major is compiled (eagerly, once);
 * a schema ajv cannot compile throws `SCHEMA_LOAD_FAILED` naming its file.
 *
 * @example
 * ```ts
 * const registry = createRegistry(await loadSchemaFiles("schemas"));
 * const r = registry.validate(doc);
 * if (!r.ok) console.log(r.code, r.errors);
 * ```
 */
export function createRegistry(files: SchemaFile[], options: RegistryOptions = {}): Registry {
  const typeField = options.typeField ?? "schema";
  const versionField = options.versionField ?? "version";
  const infer: readonly InferRule[] = [...(options.infer ?? [])];

  const sorted = [...files].sort(
    (a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.major - b.major || a.minor - b.minor),
  );
  const newest = new Map<string, Map<number, SchemaFile>>();
  for (const f of sorted) {
    if (!FILE_NAME.test(f.type) || !Number.isInteger(f.major) || f.major < 0 || !Number.isInteger(f.minor) || f.minor < 0) {
      throw new DivanError("SCHEMA_LOAD_FAILED", `Bad schema file identity ${f.type}/${f.major}.${f.minor}: type must be a plain name, major and minor non-negative integers.`, {
        details: { type: f.type, major: f.major, minor: f.minor },
      });
    }
    let majors = newest.get(f.type);
    if (!majors) newest.set(f.type, (majors = new Map()));
    const prev = majors.get(f.major);
    if (prev && prev.minor === f.minor) {
      throw new DivanError("SCHEMA_LOAD_FAILED", `Two schema files for ${f.type} ${f.major}.${f.minor}.`, {
        details: { type: f.type, major: f.major, minor: f.minor },
      });
    }
    majors.set(f.major, f); // sorted ascending: the last one is the newest minor
  }

  const ajv = createAjv();
  const validators = new Map<string, Map<number, ValidateFunction>>();
  for (const [type, majors] of newest) {
    const byMajor = new Map<number, ValidateFunction>();
    for (const [major, f] of majors) {
      try {
        byMajor.set(major, ajv.compile(f.schema as object));
      } catch (e) {
        throw new DivanError("SCHEMA_LOAD_FAILED", `Schema ${type}/${major}.${f.minor}.json does not compile: ${messageOf(e)}`, {
          cause: e,
          details: { type, major, minor: f.minor },
        });
      }
    }
    validators.set(type, byMajor);
  }
  const typeList = [...newest.keys()].sort();

  function identify(doc: unknown): Identity | undefined {
    if (!isRecord(doc)) return undefined;
    const t = doc[typeField];
    const v = doc[versionField];
    if (typeof t === "string" && typeof v === "number" && Number.isInteger(v)) return { type: t, version: v, inferred: false };
    for (const rule of infer) {
      if (typeof rule === "function") {
        const r = rule(doc);
        if (r) return { type: r.type, version: r.version, inferred: true };
      } else if (typeof doc["_id"] === "string" && doc["_id"].startsWith(rule.idPrefix)) {
        return { type: rule.type, version: rule.version, inferred: true };
      }
    }
    return undefined;
  }

  return {
    typeField,
    versionField,
    infer,
    types: () => [...typeList],
    majors: (type) => [...(newest.get(type)?.keys() ?? [])].sort((a, b) => a - b),
    has: (type, major) => newest.get(type)?.has(major) ?? false,
    schema(type, major) {
      const f = newest.get(type)?.get(major);
      if (!f) throw new DivanError("UNKNOWN_TYPE", `No schema for ${type}@${major}; add ${type}/${major}.0.json to the schemas folder.`, { details: { type, version: major } });
      return f;
    },
    files: () => [...sorted],
    identify,
    validate(doc) {
      const id = identify(doc);
      if (!id) {
        return {
          ok: false,
          code: "UNKNOWN_TYPE",
          errors: [{ pointer: `/${pointerSegment(typeField)}`, message: `has no type: expected string "${typeField}" and integer "${versionField}"`, keyword: "type" }],
        };
      }
      const fn = validators.get(id.type)?.get(id.version);
      if (!fn) {
        return {
          ok: false,
          code: "UNKNOWN_TYPE",
          type: id.type,
          version: id.version,
          errors: [{ pointer: `/${pointerSegment(typeField)}`, message: `unknown type ${id.type}@${id.version}`, keyword: "type" }],
        };
      }
      const subject = id.inferred ? { ...(doc as Record<string, unknown>), [typeField]: id.type, [versionField]: id.version } : doc;
      if (fn(subject)) return { ok: true, type: id.type, version: id.version };
      return { ok: false, code: "SCHEMA_INVALID", type: id.type, version: id.version, errors: toIssues(fn.errors) };
    },
  };
}
