/**
 * Change classification: is a new schema version of a type breaking for documents and apps of the previous one?
 *
 * Change classification: is a new schema version of a type breaking for documents and apps of the
 * previous one? A change is non-breaking when it only adds optional properties or relaxes constraints;
 * everything that can make an old document invalid, or that drops what an old app reads, is breaking.
 * Keywords this module cannot reason about are breaking when they change at all (never a silent pass).
 *
 * Pure and browser-safe.
 */
import type { JsonSchema } from "./ajv.js";
import { jsonEqual } from "../core/json.js";

/** Why a change is breaking. */
export type BreakingKind =
  | "property-removed"
  | "property-renamed"
  | "required-added"
  | "type-narrowed"
  | "enum-narrowed"
  | "const-changed"
  | "bound-tightened"
  | "pattern-changed"
  | "format-changed"
  | "additional-properties-restricted"
  | "unique-items-added"
  | "schema-false"
  | "keyword-changed";

/** A change that keeps old documents valid. */
export type NonBreakingKind =
  | "property-added"
  | "required-removed"
  | "type-widened"
  | "enum-widened"
  | "constraint-relaxed";

/** One difference between two schema versions. */
export interface SchemaChange {
  /** What changed. */
  kind: BreakingKind | NonBreakingKind;
  /** True when old documents (or old apps) may break. */
  breaking: boolean;
  /** Where in the document, as a JSON pointer (`/isDone`, `/tags/*` for array items, `` for the root). */
  pointer: string;
  /** Human-readable reason naming the field. */
  message: string;
}

/** The verdict of {@link classifyChange}. */
export interface Classification {
  /** `breaking` when at least one change is breaking. */
  verdict: "breaking" | "non-breaking";
  /** Every breaking change, with its reason. */
  breaking: SchemaChange[];
  /** Every non-breaking change. */
  nonBreaking: SchemaChange[];
}

type Obj = Record<string, unknown>;

const ANNOTATIONS = new Set([
  "$schema",
  "$id",
  "$comment",
  "$anchor",
  "title",
  "description",
  "default",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
]);

const HANDLED = new Set([
  "type",
  "enum",
  "const",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "pattern",
  "format",
  "multipleOf",
  "uniqueItems",
  "maxLength",
  "maximum",
  "exclusiveMaximum",
  "maxItems",
  "maxProperties",
  "maxContains",
  "minLength",
  "minimum",
  "exclusiveMinimum",
  "minItems",
  "minProperties",
  "minContains",
]);

const UPPER = ["maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties", "maxContains"] as const;
const LOWER = ["minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties", "minContains"] as const;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function where(pointer: string): string {
  return pointer === "" ? "the document" : pointer.slice(1);
}

function typesOf(s: Obj): Set<string> | undefined {
  const t = s["type"];
  if (typeof t === "string") return new Set([t]);
  if (Array.isArray(t)) return new Set(t.filter((x): x is string => typeof x === "string"));
  return undefined;
}

function withoutAnnotations(s: Obj): Obj {
  return Object.fromEntries(Object.entries(s).filter(([k]) => !ANNOTATIONS.has(k)));
}

class Collector {
  readonly changes: SchemaChange[] = [];
  add(kind: BreakingKind, pointer: string, message: string): void;
  add(kind: NonBreakingKind, pointer: string, message: string, breaking: false): void;
  add(kind: BreakingKind | NonBreakingKind, pointer: string, message: string, breaking = true): void {
    this.changes.push({ kind, breaking, pointer, message });
  }
}

function compare(fromIn: JsonSchema | undefined, toIn: JsonSchema | undefined, pointer: string, out: Collector): void {
  const from: JsonSchema = fromIn ?? true;
  const to: JsonSchema = toIn ?? true;
  if (to === false && from !== false) return out.add("schema-false", pointer, `${where(pointer)} is no longer allowed (schema false)`);
  if (from === false || to === true) {
    if (from !== to && !(isObj(from) && Object.keys(withoutAnnotations(from)).length === 0)) {
      out.add("constraint-relaxed", pointer, `${where(pointer)}: every constraint removed`, false);
    }
    return;
  }
  const a: Obj = from === true ? {} : from;
  const b: Obj = to as Obj;

  compareValueKeywords(a, b, pointer, out);
  compareProperties(a, b, pointer, out);

  // additionalProperties
  {
    const x = a["additionalProperties"] as JsonSchema | undefined;
    const y = b["additionalProperties"] as JsonSchema | undefined;
    if (y === false && x !== false) out.add("additional-properties-restricted", pointer, `${where(pointer)} no longer accepts unknown properties`);
    else if (!jsonEqual(x, y) && y !== false) compare(x, y, `${pointer}/*`, out);
  }

  // items (single schema form)
  if (!jsonEqual(a["items"], b["items"])) {
    const x = a["items"];
    const y = b["items"];
    if ((x === undefined || typeof x === "boolean" || isObj(x)) && (y === undefined || typeof y === "boolean" || isObj(y))) compare(x as JsonSchema | undefined, y as JsonSchema | undefined, `${pointer}/*`, out);
    else out.add("keyword-changed", pointer, `${where(pointer)}: items changed`);
  }

  // everything else: every change is treated as breaking
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (ANNOTATIONS.has(k) || HANDLED.has(k)) continue;
    if (!jsonEqual(a[k], b[k])) out.add("keyword-changed", pointer, `${where(pointer)}: ${k} changed (divan cannot prove this compatible)`);
  }
}

/** The keywords that constrain a value itself: type, enum, const, numeric bounds, uniqueItems, pattern and format. */
function compareValueKeywords(a: Obj, b: Obj, pointer: string, out: Collector): void {
  // type
  const ta = typesOf(a);
  const tb = typesOf(b);
  if (tb && !ta) out.add("type-narrowed", pointer, `${where(pointer)} must now be of type ${[...tb].join(" or ")}`);
  if (ta && tb) {
    const lost = [...ta].filter((t) => !tb.has(t) && !(t === "integer" && tb.has("number")));
    const gained = [...tb].filter((t) => !ta.has(t) && !(t === "integer" && ta.has("number")));
    if (lost.length) out.add("type-narrowed", pointer, `${where(pointer)} no longer accepts type ${lost.join(", ")} (now ${[...tb].join(" or ")})`);
    if (gained.length) out.add("type-widened", pointer, `${where(pointer)} also accepts type ${gained.join(", ")}`, false);
  }
  if (ta && !tb) out.add("type-widened", pointer, `${where(pointer)} accepts any type`, false);

  // enum
  const ea = Array.isArray(a["enum"]) ? (a["enum"] as unknown[]) : undefined;
  const eb = Array.isArray(b["enum"]) ? (b["enum"] as unknown[]) : undefined;
  if (eb && !ea) out.add("enum-narrowed", pointer, `${where(pointer)} is now limited to ${JSON.stringify(eb)}`);
  if (ea && eb) {
    const lost = ea.filter((x) => !eb.some((y) => jsonEqual(x, y)));
    const gained = eb.filter((y) => !ea.some((x) => jsonEqual(x, y)));
    if (lost.length) out.add("enum-narrowed", pointer, `${where(pointer)} no longer allows ${lost.map((x) => JSON.stringify(x)).join(", ")}`);
    if (gained.length) out.add("enum-widened", pointer, `${where(pointer)} also allows ${gained.map((x) => JSON.stringify(x)).join(", ")}`, false);
  }
  if (ea && !eb) out.add("enum-widened", pointer, `${where(pointer)} is no longer limited to a list`, false);

  // const
  if ("const" in b && (!("const" in a) || !jsonEqual(a["const"], b["const"]))) {
    out.add("const-changed", pointer, `${where(pointer)} must now equal ${JSON.stringify(b["const"])}${"const" in a ? ` (was ${JSON.stringify(a["const"])})` : ""}`);
  }
  if ("const" in a && !("const" in b)) out.add("constraint-relaxed", pointer, `${where(pointer)} is no longer a constant`, false);

  // numeric bounds
  for (const k of UPPER) {
    const x = a[k];
    const y = b[k];
    if (typeof y === "number" && (typeof x !== "number" || y < x)) out.add("bound-tightened", pointer, `${where(pointer)}: ${k} tightened to ${y}${typeof x === "number" ? ` (was ${x})` : ""}`);
    else if (typeof x === "number" && (typeof y !== "number" || y > x)) out.add("constraint-relaxed", pointer, `${where(pointer)}: ${k} relaxed${typeof y === "number" ? ` to ${y}` : ""}`, false);
  }
  for (const k of LOWER) {
    const x = a[k];
    const y = b[k];
    if (typeof y === "number" && (typeof x !== "number" || y > x)) out.add("bound-tightened", pointer, `${where(pointer)}: ${k} tightened to ${y}${typeof x === "number" ? ` (was ${x})` : ""}`);
    else if (typeof x === "number" && (typeof y !== "number" || y < x)) out.add("constraint-relaxed", pointer, `${where(pointer)}: ${k} relaxed${typeof y === "number" ? ` to ${y}` : ""}`, false);
  }
  {
    const x = a["multipleOf"];
    const y = b["multipleOf"];
    if (typeof y === "number" && (typeof x !== "number" || !Number.isInteger(x / y))) out.add("bound-tightened", pointer, `${where(pointer)} must now be a multiple of ${y}`);
    else if (typeof x === "number" && x !== y) out.add("constraint-relaxed", pointer, `${where(pointer)}: multipleOf relaxed`, false);
  }
  if (b["uniqueItems"] === true && a["uniqueItems"] !== true) out.add("unique-items-added", pointer, `${where(pointer)} items must now be unique`);
  if (a["uniqueItems"] === true && b["uniqueItems"] !== true) out.add("constraint-relaxed", pointer, `${where(pointer)} items may repeat`, false);

  // pattern / format
  for (const k of ["pattern", "format"] as const) {
    const kind = k === "pattern" ? "pattern-changed" : "format-changed";
    if (typeof b[k] === "string" && a[k] !== b[k]) out.add(kind, pointer, `${where(pointer)} must now match ${k} ${JSON.stringify(b[k])}${typeof a[k] === "string" ? ` (was ${JSON.stringify(a[k])})` : ""}`);
    else if (typeof a[k] === "string" && b[k] === undefined) out.add("constraint-relaxed", pointer, `${where(pointer)}: ${k} removed`, false);
  }
}

/** An object's members: removed, renamed (same schema, new name), added and required ones; then each kept member. */
function compareProperties(a: Obj, b: Obj, pointer: string, out: Collector): void {
  const pa = isObj(a["properties"]) ? (a["properties"] as Record<string, JsonSchema>) : {};
  const pb = isObj(b["properties"]) ? (b["properties"] as Record<string, JsonSchema>) : {};
  const ra = new Set(Array.isArray(a["required"]) ? (a["required"] as string[]) : []);
  const rb = new Set(Array.isArray(b["required"]) ? (b["required"] as string[]) : []);
  const removed = Object.keys(pa).filter((k) => !(k in pb));
  const added = Object.keys(pb).filter((k) => !(k in pa));
  const renamedTo = new Map<string, string>();
  for (const r of removed) {
    const match = added.find((n) => ![...renamedTo.values()].includes(n) && jsonEqual(withoutAnnotations(asObj(pa[r])), withoutAnnotations(asObj(pb[n]))));
    if (match !== undefined) renamedTo.set(r, match);
  }
  const renamedNew = new Set(renamedTo.values());
  const child = (k: string): string => `${pointer}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`;
  for (const r of removed) {
    const n = renamedTo.get(r);
    if (n !== undefined) out.add("property-renamed", child(r), `property ${r} renamed to ${n}`);
    else out.add("property-removed", child(r), `property ${r} removed`);
  }
  for (const n of added) {
    if (renamedNew.has(n)) continue;
    if (rb.has(n)) out.add("required-added", child(n), `new required property ${n}`);
    else out.add("property-added", child(n), `optional property ${n} added`, false);
  }
  for (const k of rb) {
    if (ra.has(k) || (added.includes(k) && !renamedNew.has(k)) || renamedNew.has(k)) continue;
    out.add("required-added", child(k), `property ${k} is now required`);
  }
  for (const k of ra) if (!rb.has(k) && k in pb) out.add("required-removed", child(k), `property ${k} is now optional`, false);
  for (const k of Object.keys(pa)) if (k in pb) compare(pa[k], pb[k], child(k), out);
}

function asObj(s: JsonSchema | undefined): Obj {
  return isObj(s) ? s : { $boolean: s };
}

/**
 * Classifies the change from schema `from` (older) to schema `to` (newer) of one type.
 *
 * @example
 * ```ts
 * classifyChange(todo11, todo20).breaking.map((c) => c.message);
 * // ["property isDone removed", "new required property status", "version must now equal 2 (was 1)"]
 * ```
 */
export function classifyChange(from: JsonSchema, to: JsonSchema): Classification {
  const out = new Collector();
  compare(from, to, "", out);
  const breaking = out.changes.filter((c) => c.breaking);
  const nonBreaking = out.changes.filter((c) => !c.breaking);
  return { verdict: breaking.length ? "breaking" : "non-breaking", breaking, nonBreaking };
}
