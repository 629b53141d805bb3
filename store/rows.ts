/**
 * Reading the current rows of many ids at once, the cheap way on every store.
 */
import type { AllDocsRow, DocumentStore } from "./port.js";

/** Groups of ids sharing a `<type>:` prefix smaller than this are asked for by `keys`. */
export const RANGE_MIN_IDS = 16;
/** A range read that was cut off continues as a range while at least one row in this many was asked for. */
const RANGE_MIN_DENSITY = 2;
/** The rows a range's first read may return: enough to tell how densely it holds what was asked for. */
const RANGE_PROBE = 64;

/**
 * The live rows (with documents) of `ids` in `store`; ids that do not exist or are deleted have no row.
 *
 * Ids sharing a prefix (`<type>:`) are asked for as one `_all_docs` key range rather than as `keys`: a range
 * answers for every id in it, present or not, in one index seek, where `keys` costs a lookup per id (on PouchDB
 * a `get` per id) although, for the siblings of a page's entities, most of them miss. A range's first read returns
 * a few rows, enough to tell how densely it holds what was asked for; a range where fewer than half the rows were
 * asked for is cut off there and the rest asked for by `keys`; small groups go by `keys`. The queries run side by
 * side.
 *
 * @param read wraps each query (a retry policy, say); by default the query runs as is.
 */
export async function liveRows(
  store: DocumentStore,
  ids: Iterable<string>,
  options: { conflicts?: boolean; read?: <T>(query: () => Promise<T>) => Promise<T> } = {},
): Promise<AllDocsRow[]> {
  const wanted = new Set(ids);
  const read = options.read ?? (<T>(query: () => Promise<T>): Promise<T> => query());
  const extra = options.conflicts === true ? { conflicts: true } : {};
  const groups = new Map<string, string[]>();
  for (const id of wanted) {
    const colon = id.indexOf(":");
    const prefix = colon < 0 ? id : id.slice(0, colon + 1);
    let g = groups.get(prefix);
    if (g === undefined) groups.set(prefix, (g = []));
    g.push(id);
  }
  const byKeys: string[] = [];
  const ranges: string[][] = [];
  for (const g of groups.values()) {
    if (g.length >= RANGE_MIN_IDS) ranges.push(g);
    else byKeys.push(...g);
  }
  const rows: AllDocsRow[] = [];
  const live = (row: AllDocsRow): boolean => row.error === undefined && row.value !== undefined && row.value.deleted !== true && row.doc !== null;
  const keysQuery = async (keys: string[]): Promise<void> => {
    if (keys.length === 0) return;
    const page = await read(() => store.allDocs({ keys, includeDocs: true, ...extra }));
    for (const row of page.rows) if (live(row)) rows.push(row);
  };
  const rangeQuery = async (group: string[]): Promise<void> => {
    group.sort();
    let rest = group;
    let limit = Math.min(rest.length * 2 + RANGE_MIN_IDS, RANGE_PROBE);
    for (;;) {
      const first = rest[0]!;
      const last = rest[rest.length - 1]!;
      const page = await read(() => store.allDocs({ startkey: first, endkey: last, limit, includeDocs: true, ...extra }));
      let hits = 0;
      for (const row of page.rows) {
        if (!wanted.has(row.id)) continue;
        hits++;
        if (live(row)) rows.push(row);
      }
      if (page.rows.length < limit) return;
      // Cut off: the ids after the last row are read as a further range while ranges mostly hold what was asked
      // for, else by key.
      const seen = page.rows[page.rows.length - 1]!.id;
      rest = rest.filter((id) => id > seen);
      if (rest.length === 0) return;
      if (rest.length < RANGE_MIN_IDS || hits * RANGE_MIN_DENSITY < page.rows.length) return keysQuery(rest);
      limit = rest.length * 2 + RANGE_MIN_IDS;
    }
  };
  await Promise.all([keysQuery(byKeys), ...ranges.map(rangeQuery)]);
  return rows;
}
