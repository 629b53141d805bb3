/**
 * Mango queries answered in memory, on documents a live adapter translated (their stored form has no index).
 */
import { matchesSelector } from "pouchdb-selector-core";
import type { AllDocsPage, Doc, DocumentStore, FindRequest } from "../../store/port.js";
import type { LiveFindResult, LivePage, RowProblem } from "./types.js";

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

/**
 * A Mango query over every document of `store`, read page by page and translated by `translate` (a stored
 * `_all_docs` page, read with `includeDocs`, at the app's version): matched, sorted, skipped, limited and
 * projected in memory; documents that cannot be translated are listed in `problems`.
 */
export async function scanFind(store: DocumentStore, translate: (page: AllDocsPage) => Promise<LivePage>, request: FindRequest): Promise<LiveFindResult> {
  const docs: Doc[] = [];
  const problems: { id: string; problem: RowProblem }[] = [];
  const pageSize = 500;
  let skip = 0;
  const seen = new Set<string>();
  let startkey: string | undefined;
  for (;;) {
    const raw = await store.allDocs({ includeDocs: true, limit: pageSize, skip, ...(startkey !== undefined ? { startkey } : {}) });
    const page = await translate(raw);
    for (const r of page.rows) {
      if (r.id.startsWith("_design/") || seen.has(r.id)) continue;
      seen.add(r.id);
      if (r.problem !== undefined) problems.push({ id: r.id, problem: r.problem });
      else if (r.doc !== undefined && r.doc !== null && matchesSelector(r.doc, request.selector)) docs.push(r.doc);
    }
    const last = raw.rows[raw.rows.length - 1];
    if (raw.rows.length < pageSize || last === undefined) break;
    startkey = last.id;
    skip = 1;
  }
  const sorted = request.sort === undefined ? docs : sortDocs(docs, request.sort);
  const skipped = sorted.slice(request.skip ?? 0, request.limit === undefined ? undefined : (request.skip ?? 0) + request.limit);
  const fields = request.fields;
  const projected = fields === undefined ? skipped : skipped.map((d) => project(d, fields));
  return { docs: projected, problems, warning: "divan/client: a lazy find scans and translates every document; indexes are not used" };
}
