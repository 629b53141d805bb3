/**
 * Mango `sort` and `fields` applied in memory, to documents a live adapter translated (their stored form has no index).
 */
import type { Doc } from "../../store/port.js";

const hasOwn = Object.prototype.hasOwnProperty;

/** The value at a dotted field path, or `undefined`. */
function valueAt(doc: Doc, field: string): unknown {
  let cur: unknown = doc;
  for (const part of field.split(".")) {
    if (typeof cur !== "object" || cur === null || !hasOwn.call(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (typeof a === typeof b && (typeof a === "number" || typeof a === "string")) return (a as number) < (b as number) ? -1 : 1;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

export function sortDocs(docs: Doc[], sort: readonly (string | Record<string, "asc" | "desc">)[]): Doc[] {
  const keys = sort.map((s) => (typeof s === "string" ? { field: s, dir: 1 } : { field: Object.keys(s)[0]!, dir: Object.values(s)[0] === "desc" ? -1 : 1 }));
  return [...docs].sort((a, b) => {
    for (const k of keys) {
      const c = compareValues(valueAt(a, k.field), valueAt(b, k.field));
      if (c !== 0) return c * k.dir;
    }
    return 0;
  });
}

export function project(doc: Doc, fields: readonly string[]): Doc {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = valueAt(doc, f);
    if (v !== undefined) out[f] = v;
  }
  return out as Doc;
}
