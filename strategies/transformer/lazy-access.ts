/**
 * Lazy access to one version's documents through a transformer: reads translated, writes stored then translated.
 *
 * Lazy access to one version's documents through a transformer (`Transformer.readAt`, `translateIds`):
 * what an app reads is shown as the transformer would translate it from the other versions, without
 * writing; what it writes is stored on top of that translation, then translated to the other versions.
 * The lazy client transformers use it for every new-app device; `per-version-documents` uses it on a
 * device whose upgrade waits for the server's translations. Browser-safe.
 */
import { DivanError } from "../../core/errors.js";
import { hasFault, type Fault } from "../../core/faults.js";
import type { AllDocsOptions, AllDocsPage, AllDocsRow, BulkDocsOptions, Doc, DocumentStore, GetOptions, WriteResult } from "../../store/port.js";
import type { Transformer } from "./transformer.js";

/** Whether `id` lies in the key range of an `allDocs` call without `keys`. */
function inRange(id: string, o: AllDocsOptions): boolean {
  const [lo, hi] = o.descending === true ? [o.endkey, o.startkey] : [o.startkey, o.endkey];
  return (lo === undefined || id >= lo) && (hi === undefined || id <= hi);
}

/**
 * Lazy access to side `side`'s store `current` (ids as stored): what the app reads is shown as the
 * transformer would translate it from the other sides (`others`: the stores they live in besides
 * `current`), without writing; what the app writes is stored on top of that translation (it is stored
 * first, and the written documents rebased onto it when they were read from it), then translated to the
 * other sides. `get` with a `rev` and every other call go to `current` unchanged.
 */
export function lazyAccess(
  current: DocumentStore,
  others: readonly DocumentStore[],
  side: string,
  transformer: () => Transformer | undefined,
  faults?: readonly Fault[],
): DocumentStore {
  const overlay = async (ids: readonly string[]): Promise<Map<string, Doc>> => (await transformer()?.readAt(side, ids)) ?? new Map();
  const rowOf = (id: string, doc: Doc, includeDocs: boolean | undefined): AllDocsRow => ({ id, key: id, value: { rev: doc._rev ?? "" }, ...(includeDocs === true ? { doc } : {}) });
  const write = async <T>(docs: readonly Doc[], run: (rebased: Doc[]) => Promise<T>): Promise<T> => {
    const t = transformer();
    const ids = docs.map((d) => d._id);
    if (t === undefined) return run([...docs]);
    const revs = async (): Promise<Map<string, string | undefined>> =>
      new Map((await current.allDocs({ keys: ids })).rows.map((r) => [r.key, r.value !== undefined && r.value.deleted !== true ? r.value.rev : undefined]));
    const before = await revs();
    await t.translateIds(ids); // store what the app read
    const after = await revs();
    const rebased = docs.map((d) => (d._rev === before.get(d._id) && after.get(d._id) !== before.get(d._id) ? { ...d, _rev: after.get(d._id) } : d));
    const result = await run(rebased);
    if (!hasFault(faults, "lazy-edit-not-translated")) await t.translateIds(ids); // and the edit into the other version
    return result;
  };
  return new Proxy(current, {
    get(target, key, receiver) {
      if (key === "get") {
        return async (id: string, o?: GetOptions): Promise<Doc> => {
          if (o?.rev !== undefined) return target.get(id, o);
          const shown = (await overlay([id])).get(id);
          if (shown === undefined) return target.get(id, o);
          if (shown._deleted === true) throw new DivanError("NOT_FOUND", `${id} is deleted in the other version`, { details: { id } });
          return shown;
        };
      }
      if (key === "allDocs") {
        return async (o: AllDocsOptions = {}): Promise<AllDocsPage> => {
          if (o.keys !== undefined) {
            const page = await target.allDocs(o);
            const shown = await overlay(o.keys);
            const rows = page.rows.map((row): AllDocsRow => {
              const d = shown.get(row.key);
              if (d === undefined) return row;
              return d._deleted === true ? { id: row.key, key: row.key, error: "not_found" } : rowOf(row.key, d, o.includeDocs);
            });
            return { totalRows: page.totalRows, rows };
          }
          const { skip, limit, ...range } = o;
          const page = await target.allDocs(range);
          const ids = new Set(page.rows.map((r) => r.id));
          for (const other of others) for (const r of (await other.allDocs({ ...range, includeDocs: false })).rows) ids.add(r.id);
          const shown = await overlay([...ids]);
          const rows = new Map(page.rows.map((r) => [r.id, r]));
          for (const [id, d] of shown) {
            if (d._deleted === true) rows.delete(id);
            else if (inRange(id, range)) rows.set(id, rowOf(id, d, o.includeDocs));
          }
          const sorted = [...rows.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
          if (o.descending === true) sorted.reverse();
          const from = skip ?? 0;
          return { totalRows: page.totalRows, rows: sorted.slice(from, limit === undefined ? undefined : from + limit) };
        };
      }
      if (key === "bulkDocs") return (docs: Doc[], o?: BulkDocsOptions): Promise<WriteResult[]> => write(docs, (rebased) => target.bulkDocs(rebased, o));
      if (key === "put") return (doc: Doc) => write([doc], ([rebased]) => target.put(rebased!));
      if (key === "remove") return (id: string, rev: string) => write([{ _id: id, _rev: rev, _deleted: true }], ([rebased]) => target.remove(id, rebased!._rev!));
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
