/**
 * A live adapter's read paged by entity: a page is a range of entity ids, read from every type range of its family
 * and merged by entity id, so that each stored row is read once (README, "Live adapters").
 */
import { DivanError } from "../../core/errors.js";
import type { AllDocsOptions, AllDocsPage, AllDocsRow, DocumentStore } from "../../store/port.js";
import type { Stored } from "./entities.js";
import type { EntityPagesOptions, LiveEntityPage, LiveRow } from "./types.js";

/**
 * The last entity id a family's type range holds: `<type>:\u0000` … `<type>:\uffff`. The rest (`<type>:` itself, ids
 * after `<type>:\uffff`, singletons `<type>`, other types, design documents) is read between the ranges, by stored id.
 */
const LAST = "\uffff";
const DEFAULT_LIMIT = 500;

/**
 * The adapter's translation of stored rows (read with documents): `covered` tells the ids whose absence from `rows`
 * means no live document (others are read); `owns`, which of the entities reached give their rows here (default all).
 */
export type TranslateRows = (rows: readonly AllDocsRow[], covered: (id: string) => boolean, owns?: (s: Stored) => boolean) => Promise<LiveRow[]>;

/** Where a page ends: in a family's section after an entity id (`null`: its start), or between the families' ranges after a stored id. */
type Token = readonly ["f", string, string | null] | readonly ["r", string | null];

function parseToken(start: string): Token {
  let t: unknown;
  try {
    t = JSON.parse(start);
  } catch {
    t = undefined;
  }
  const text = (v: unknown): boolean => v === null || typeof v === "string";
  if (Array.isArray(t) && ((t.length === 3 && t[0] === "f" && typeof t[1] === "string" && text(t[2])) || (t.length === 2 && t[0] === "r" && text(t[1])))) {
    return t as unknown as Token;
  }
  throw new DivanError("BAD_REQUEST", `entityPages: start ${JSON.stringify(start)} is no page's next token; pass a page's next as it is`, { details: { start } });
}

/** Reads through `store`, keeping the stored count the reads answer. */
class Reader {
  totalRows = 0;
  constructor(readonly store: DocumentStore) {}
  async read(options: AllDocsOptions): Promise<AllDocsPage> {
    const page = await this.store.allDocs({ ...options, includeDocs: true });
    this.totalRows = page.totalRows;
    return page;
  }
}

/**
 * Every stored row of `store`, translated by `translate`, in pages: first each family (its `types`, by its first
 * type), a page being the entities whose ids lie in a range, read from each type range; then the rest by stored id.
 */
export async function* entityPages(store: DocumentStore, families: readonly (readonly string[])[], options: EntityPagesOptions, translate: TranslateRows): AsyncGenerator<LiveEntityPage> {
  const limit = Math.max(1, Math.floor(options.limit ?? DEFAULT_LIMIT));
  const sorted = [...families].sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  const start = options.start === undefined ? undefined : parseToken(options.start);
  const reader = new Reader(store);
  let first = 0;
  if (start?.[0] === "r") first = sorted.length;
  else if (start !== undefined) {
    first = sorted.findIndex((f) => f[0] === start[1]);
    if (first < 0) throw new DivanError("BAD_REQUEST", `entityPages: the steps have no family ${start[1]} any more; start again`, { details: { family: start[1] } });
  }
  for (let i = first; i < sorted.length; i++) {
    const after = i === first && start?.[0] === "f" ? start[2] : null;
    const next = sorted[i + 1]?.[0];
    const then: Token = next === undefined ? ["r", null] : ["f", next, null];
    yield* familyPages(reader, sorted[i]!, after, limit, translate, JSON.stringify(then));
  }
  yield* restPages(reader, sorted.flat(), start?.[0] === "r" ? start[1] : null, limit, translate);
}

/** One type range of a family: rows read and not paged yet, and where its next read starts (`undefined`: read to its end). */
interface Cursor {
  readonly type: string;
  readonly end: string;
  rows: AllDocsRow[];
  from: string | undefined;
}

/** The pages of one family (its types, sorted), after entity id `after`; the last one's `next` is `then`. */
async function* familyPages(reader: Reader, types: readonly string[], after: string | null, limit: number, translate: TranslateRows, then: string): AsyncGenerator<LiveEntityPage> {
  const cursors: Cursor[] = types.map((type) => {
    const end = `${type}:${LAST}`;
    const from = `${type}:${after === null ? "\u0000" : `${after}\u0000`}`;
    return { type, end, rows: [], from: from > end ? undefined : from };
  });
  for (;;) {
    await Promise.all(
      cursors
        .filter((c) => c.from !== undefined && c.rows.length < limit)
        .map(async (c) => {
          const { rows } = await reader.read({ startkey: c.from!, endkey: c.end, limit });
          c.rows = c.rows.length === 0 ? rows : c.rows.concat(rows);
          const last = rows[rows.length - 1]?.id;
          c.from = rows.length < limit || last === undefined || `${last}\u0000` > c.end ? undefined : `${last}\u0000`;
        }),
    );
    // the page ends at the first entity id some range has not been read past; every range holds all of it up to there
    let bound: string | undefined;
    for (const c of cursors) {
      if (c.from === undefined) continue;
      const e = c.rows[c.rows.length - 1]!.id.slice(c.type.length + 1);
      if (bound === undefined || e < bound) bound = e;
    }
    const taken: AllDocsRow[] = [];
    for (const c of cursors) {
      let n = c.rows.length;
      if (bound !== undefined) {
        const cut = bound;
        n = 0;
        while (n < c.rows.length && c.rows[n]!.id.slice(c.type.length + 1) <= cut) n++;
      }
      for (let k = 0; k < n; k++) taken.push(c.rows[k]!);
      c.rows = n === c.rows.length ? [] : c.rows.slice(n);
    }
    const rows = taken.length === 0 ? [] : await translate(taken, () => true);
    const next = bound === undefined ? then : JSON.stringify(["f", types[0]!, bound] satisfies Token);
    if (rows.length > 0) yield { totalRows: reader.totalRows, rows, next };
    if (bound === undefined) return;
  }
}

/**
 * The rows outside the families' ranges, by stored id, after `after` (`null`: from the first). An entity among them
 * (a family's singleton, or an entity id after `\uffff`) has its other documents read by key, and its rows come with
 * the page that holds its first stored document.
 */
async function* restPages(reader: Reader, types: readonly string[], after: string | null, limit: number, translate: TranslateRows): AsyncGenerator<LiveEntityPage> {
  const segments: { lo: string | undefined; hi: string | undefined }[] = [];
  let lo: string | undefined;
  for (const s of types.map((t) => `${t}:`).sort()) {
    segments.push({ lo, hi: s });
    lo = `${s}${LAST}\u0000`;
  }
  segments.push({ lo, hi: undefined });
  for (const [i, seg] of segments.entries()) {
    let from = seg.lo;
    if (after !== null && (from === undefined || from <= after)) from = `${after}\u0000`;
    for (;;) {
      if (from !== undefined && seg.hi !== undefined && from > seg.hi) break;
      const page = await reader.read({ ...(from === undefined ? {} : { startkey: from }), ...(seg.hi === undefined ? {} : { endkey: seg.hi }), limit });
      const first = page.rows[0]?.id;
      const last = page.rows[page.rows.length - 1]?.id;
      if (first === undefined || last === undefined) break;
      const more = page.rows.length === limit;
      const rows = await translate(page.rows, (id) => id >= first && id <= last, (s) => firstFrom(s, first));
      if (rows.length > 0) yield { totalRows: reader.totalRows, rows, next: !more && i === segments.length - 1 ? undefined : JSON.stringify(["r", last] satisfies Token) };
      if (!more) break;
      from = `${last}\u0000`;
    }
  }
}

/** True when no live document of the entity lies before `first` (an earlier page, which gave its rows). */
function firstFrom(s: Stored, first: string): boolean {
  for (const d of s.docs.values()) if (d._id !== undefined && d._id < first) return false;
  return true;
}
