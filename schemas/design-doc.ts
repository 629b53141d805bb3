/**
 * A CouchDB `validate_doc_update` built from the registry's schemas, so the server refuses documents
 * that do not match their schema.
 *
 * The function runs inside CouchDB's JavaScript engine (SpiderMonkey or QuickJS: ES5-level, no Node APIs,
 * no `require`). It is ajv's standalone ES5 output for every (type, newest minor of each major), bundled into
 * one function together with the few runtime helpers ajv references (deep equality, UCS-2 length and the
 * ajv-formats formats), written here in ES5. The ajv options are the registry's own (`createAjv`), so the
 * design document and {@link Registry.validate} give the same verdict.
 *
 * Browser-safe.
 */
import standaloneModule from "ajv/dist/standalone/index.js";
import { DivanError, messageOf } from "../core/errors.js";
import { createAjv } from "./ajv.js";
import type { Registry } from "./registry.js";

type StandaloneCode = (ajv: ReturnType<typeof createAjv>, refs: Record<string, string>) => string;
// ajv's standalone module is CommonJS; accept both interop shapes.
const standaloneCode: StandaloneCode =
  (standaloneModule as unknown as { default?: StandaloneCode }).default ?? (standaloneModule as unknown as StandaloneCode);

/** Options of {@link schemaDesignDoc}. */
export interface SchemaDesignDocOptions {
  /** Design document id. Default `_design/divan-schema`. */
  id?: string;
  /**
   * Refuse documents whose type or (type, major) has no schema, and documents without a type.
   * Default `false`: unknown types are let through (whitelist code ignores them; nothing drops them).
   */
  rejectUnknown?: boolean;
}

/** The `_design/divan-schema` document. */
export interface SchemaDesignDoc {
  _id: string;
  _rev?: string;
  language: "javascript";
  /** Source of `function (newDoc, oldDoc, userCtx, secObj) { ... }` (ES5). */
  validate_doc_update: string;
  /** What the function checks, for humans and for installers that compare before updating. */
  divan: {
    v: 1;
    typeField: string;
    versionField: string;
    rejectUnknown: boolean;
    /** `type@major.minor` of every schema compiled in. */
    schemas: string[];
  };
  [key: string]: unknown;
}

/** The signature CouchDB calls. Throws `{ forbidden: string }` to refuse a write. */
export type ValidateDocUpdate = (newDoc: unknown, oldDoc: unknown, userCtx: unknown, secObj: unknown) => void;

// ---------------------------------------------------------------------------------------------------
// ES5 runtime helpers referenced by ajv's standalone code. They mirror ajv 8 / ajv-formats 3 exactly.

const ES5_EQUAL = `function (a, b) {
  function equal(a, b) {
    if (a === b) return true;
    if (a && b && typeof a == "object" && typeof b == "object") {
      // JSON values only. No constructor comparison: CouchDB hands the function documents from another
      // realm in some engines (and the embedded server does), so Object/Array identity must not matter.
      var isArray = Object.prototype.toString.call(a) === "[object Array]";
      if (isArray !== (Object.prototype.toString.call(b) === "[object Array]")) return false;
      var length, i, keys, key;
      if (isArray) {
        length = a.length;
        if (length != b.length) return false;
        for (i = length; i-- !== 0;) if (!equal(a[i], b[i])) return false;
        return true;
      }
      keys = [];
      for (key in a) if (Object.prototype.hasOwnProperty.call(a, key)) keys.push(key);
      length = keys.length;
      var bLength = 0;
      for (key in b) if (Object.prototype.hasOwnProperty.call(b, key)) bLength++;
      if (length !== bLength) return false;
      for (i = length; i-- !== 0;) if (!Object.prototype.hasOwnProperty.call(b, keys[i])) return false;
      for (i = length; i-- !== 0;) { key = keys[i]; if (!equal(a[key], b[key])) return false; }
      return true;
    }
    return a !== a && b !== b;
  }
  return equal(a, b);
}`;

const ES5_UCS2LENGTH = `function (str) {
  var len = str.length, length = 0, pos = 0, value;
  while (pos < len) {
    length++;
    value = str.charCodeAt(pos++);
    if (value >= 0xd800 && value <= 0xdbff && pos < len) {
      value = str.charCodeAt(pos);
      if ((value & 0xfc00) === 0xdc00) pos++;
    }
  }
  return length;
}`;

/** ES5 versions of the ajv-formats (full mode) formats that are functions; regexp formats are inlined by ajv. */
const ES5_FORMATS: Record<string, string> = {
  date: `{ validate: date }`,
  time: `{ validate: getTime(true) }`,
  "date-time": `{ validate: getDateTime(true) }`,
  "iso-time": `{ validate: getTime(false) }`,
  "iso-date-time": `{ validate: getDateTime(false) }`,
  byte: `function (str) { var BYTE = /^(?:[A-Za-z0-9+\\/]{4})*(?:[A-Za-z0-9+\\/]{2}==|[A-Za-z0-9+\\/]{3}=)?$/gm; BYTE.lastIndex = 0; return BYTE.test(str); }`,
  int32: `{ type: "number", validate: function (v) { return isInteger(v) && v <= 2147483647 && v >= -2147483648; } }`,
  int64: `{ type: "number", validate: function (v) { return isInteger(v); } }`,
  float: `{ type: "number", validate: function () { return true; } }`,
  double: `{ type: "number", validate: function () { return true; } }`,
};

const ES5_FORMAT_HELPERS = `
  function isInteger(v) { return typeof v === "number" && isFinite(v) && Math.floor(v) === v; }
  function isLeapYear(year) { return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0); }
  var DATE = /^(\\d\\d\\d\\d)-(\\d\\d)-(\\d\\d)$/;
  var DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  function date(str) {
    var matches = DATE.exec(str);
    if (!matches) return false;
    var year = +matches[1], month = +matches[2], day = +matches[3];
    return month >= 1 && month <= 12 && day >= 1 && day <= (month === 2 && isLeapYear(year) ? 29 : DAYS[month]);
  }
  var TIME = /^(\\d\\d):(\\d\\d):(\\d\\d(?:\\.\\d+)?)(z|([+-])(\\d\\d)(?::?(\\d\\d))?)?$/i;
  function getTime(strictTimeZone) {
    return function (str) {
      var matches = TIME.exec(str);
      if (!matches) return false;
      var hr = +matches[1], min = +matches[2], sec = +matches[3], tz = matches[4];
      var tzSign = matches[5] === "-" ? -1 : 1, tzH = +(matches[6] || 0), tzM = +(matches[7] || 0);
      if (tzH > 23 || tzM > 59 || (strictTimeZone && !tz)) return false;
      if (hr <= 23 && min <= 59 && sec < 60) return true;
      var utcMin = min - tzM * tzSign;
      var utcHr = hr - tzH * tzSign - (utcMin < 0 ? 1 : 0);
      return (utcHr === 23 || utcHr === -1) && (utcMin === 59 || utcMin === -1) && sec < 61;
    };
  }
  function getDateTime(strictTimeZone) {
    var time = getTime(strictTimeZone);
    return function (str) {
      var dateTime = str.split(/t|\\s/i);
      return dateTime.length === 2 && date(dateTime[0]) && time(dateTime[1]);
    };
  }`;

/** The formats ajv inlines as regular-expression literals that are also valid ES5 (no `u`/`y`/`s` flags). */
const INLINED_REGEXP_FORMATS = new Set([
  "duration",
  "uri-reference",
  "uri-template",
  "email",
  "hostname",
  "ipv4",
  "ipv6",
  "uuid",
  "json-pointer",
  "json-pointer-uri-fragment",
  "relative-json-pointer",
  "password",
  "binary",
]);

/** Every format name a CouchDB design document can check. */
export const DESIGN_DOC_FORMATS: readonly string[] = [...Object.keys(ES5_FORMATS), ...INLINED_REGEXP_FORMATS].sort();

function collectFormats(schema: unknown, out: Set<string>): void {
  if (Array.isArray(schema)) {
    for (const s of schema) collectFormats(s, out);
  } else if (typeof schema === "object" && schema !== null) {
    for (const [k, v] of Object.entries(schema)) {
      if (k === "format" && typeof v === "string") out.add(v);
      // `enum`, `const`, `default`, `examples` hold data, not schemas.
      if (k !== "enum" && k !== "const" && k !== "default" && k !== "examples") collectFormats(v, out);
    }
  }
}

const REQUIRE_CALL = /require\("([^"]+)"\)/g;

/**
 * Builds the `_design/divan-schema` document: its `validate_doc_update` refuses (`{ forbidden }`) a write of a
 * known type that does not match the newest minor of its major, naming the first error's JSON pointer;
 * allows deletions and design documents; lets unknown types through unless `rejectUnknown`. Documents without
 * type fields are identified by the registry's `idPrefix` infer rules (function rules cannot run in CouchDB).
 *
 * Throws `SCHEMA_INVALID` when a schema uses a format CouchDB cannot check (see {@link DESIGN_DOC_FORMATS}).
 */
export function schemaDesignDoc(registry: Registry, options: SchemaDesignDocOptions = {}): SchemaDesignDoc {
  const rejectUnknown = options.rejectUnknown ?? false;
  const ajv = createAjv();
  const refs: Record<string, string> = {};
  const table: Record<string, Record<string, string>> = {};
  const compiled: string[] = [];
  let n = 0;
  for (const type of registry.types()) {
    table[type] = {};
    for (const major of registry.majors(type)) {
      const file = registry.schema(type, major);
      const formats = new Set<string>();
      collectFormats(file.schema, formats);
      for (const f of formats) {
        if (!(f in ES5_FORMATS) && !INLINED_REGEXP_FORMATS.has(f)) {
          throw new DivanError(
            "SCHEMA_INVALID",
            `${type}/${major}.${file.minor}.json uses format "${f}", which CouchDB's validate_doc_update cannot check. Supported: ${DESIGN_DOC_FORMATS.join(", ")}.`,
            { details: { type, major, minor: file.minor, format: f } },
          );
        }
      }
      const key = `divan:${type}@${major}`;
      const name = `v${n++}`;
      ajv.addSchema(file.schema as object, key);
      refs[name] = key;
      table[type][String(major)] = name;
      compiled.push(`${type}@${major}.${file.minor}`);
    }
  }
  let code = "";
  if (n > 0) {
    try {
      code = standaloneCode(ajv, refs);
    } catch (e) {
      throw new DivanError("SCHEMA_INVALID", `Cannot build validate_doc_update: ${messageOf(e)}`, { cause: e });
    }
  }
  const runtime: Record<string, string> = {
    "ajv/dist/runtime/equal": `{ "default": ${ES5_EQUAL} }`,
    "ajv/dist/runtime/ucs2length": `{ "default": ${ES5_UCS2LENGTH} }`,
    "ajv-formats/dist/formats": `{ fullFormats: { ${Object.entries(ES5_FORMATS)
      .map(([k, v]) => `${JSON.stringify(k)}: ${v}`)
      .join(",\n    ")} } }`,
  };
  const used = new Set<string>();
  code = code.replace(REQUIRE_CALL, (_m, mod: string) => {
    if (!(mod in runtime)) {
      throw new DivanError("SCHEMA_INVALID", `validate_doc_update would need ajv module "${mod}", which cannot run inside CouchDB.`, { details: { module: mod } });
    }
    used.add(mod);
    return `__divanRuntime[${JSON.stringify(mod)}]`;
  });
  const inferRules = registry.infer.filter((r) => typeof r !== "function");
  const validators = Object.entries(table)
    .map(([type, byMajor]) => `${JSON.stringify(type)}: { ${Object.entries(byMajor).map(([m, name]) => `${JSON.stringify(m)}: exports.${name}`).join(", ")} }`)
    .join(",\n    ");

  const source = `function (newDoc, oldDoc, userCtx, secObj) {
  if (newDoc._deleted === true) return;
  if (typeof newDoc._id === "string" && newDoc._id.indexOf("_design/") === 0) return;
  var TYPE_FIELD = ${JSON.stringify(registry.typeField)};
  var VERSION_FIELD = ${JSON.stringify(registry.versionField)};
  var REJECT_UNKNOWN = ${rejectUnknown ? "true" : "false"};
  var INFER = ${JSON.stringify(inferRules)};
  var hasOwn = Object.prototype.hasOwnProperty;
  ${used.has("ajv-formats/dist/formats") ? ES5_FORMAT_HELPERS : ""}
  var __divanRuntime = {
    ${[...used].map((m) => `${JSON.stringify(m)}: ${runtime[m]}`).join(",\n    ")}
  };
  var exports = {};
  ${code}
  var VALIDATORS = {
    ${validators}
  };
  function refuse(message) { throw({ forbidden: message }); }
  function segment(key) { return String(key).replace(/~/g, "~0").replace(/\\//g, "~1"); }
  var type = newDoc[TYPE_FIELD], version = newDoc[VERSION_FIELD], subject = newDoc, i, k;
  if (!(typeof type === "string" && typeof version === "number" && Math.floor(version) === version && isFinite(version))) {
    type = undefined;
    for (i = 0; i < INFER.length; i++) {
      if (typeof newDoc._id === "string" && newDoc._id.indexOf(INFER[i].idPrefix) === 0) {
        type = INFER[i].type; version = INFER[i].version; subject = {};
        for (k in newDoc) if (hasOwn.call(newDoc, k)) subject[k] = newDoc[k];
        subject[TYPE_FIELD] = type; subject[VERSION_FIELD] = version;
        break;
      }
    }
    if (type === undefined) {
      if (REJECT_UNKNOWN) refuse("document " + newDoc._id + " has no type: expected string \\"" + TYPE_FIELD + "\\" and integer \\"" + VERSION_FIELD + "\\"");
      return;
    }
  }
  var validate = hasOwn.call(VALIDATORS, type) && hasOwn.call(VALIDATORS[type], String(version)) ? VALIDATORS[type][String(version)] : undefined;
  if (!validate) {
    if (REJECT_UNKNOWN) refuse("document " + newDoc._id + " has unknown type " + type + "@" + version);
    return;
  }
  if (!validate(subject)) {
    var e = validate.errors && validate.errors[0];
    var pointer = e ? e.instancePath : "";
    if (e && (e.keyword === "required" || e.keyword === "dependentRequired") && typeof e.params.missingProperty === "string") pointer += "/" + segment(e.params.missingProperty);
    if (e && (e.keyword === "additionalProperties" || e.keyword === "unevaluatedProperties")) {
      var extra = e.params.additionalProperty !== undefined ? e.params.additionalProperty : e.params.unevaluatedProperty;
      if (typeof extra === "string") pointer += "/" + segment(extra);
    }
    refuse("invalid " + type + "@" + version + " document " + newDoc._id + ": " + (pointer || "/") + " " + (e ? e.message : "does not match its schema"));
  }
}`;
  return {
    _id: options.id ?? "_design/divan-schema",
    language: "javascript",
    validate_doc_update: source,
    divan: { v: 1, typeField: registry.typeField, versionField: registry.versionField, rejectUnknown, schemas: compiled },
  };
}

/**
 * Turns a design document's `validate_doc_update` source into a callable function (the way CouchDB and
 * PouchDB evaluate it), e.g. to check documents locally with exactly the server's verdict.
 */
export function compileValidateDocUpdate(source: string): ValidateDocUpdate {
  // The source is the design document's own JavaScript: evaluated as CouchDB and PouchDB evaluate it.
  return new Function(`return (${source});`)() as ValidateDocUpdate;
}
