/**
 * Where the transformer keeps the documents whose translation a target refused.
 *
 * Where the transformer keeps the documents whose translation a target refused (issue 14): records of the
 * eager runner's shape ({@link QuarantineRecord}: id, rev, type, version, code, reason) plus the side they
 * were read from, in the `_local` documents of that side's store, next to the checkpoint:
 * `<checkpoint>-quarantine` (`{ v: 1, pages }`) and pages `<checkpoint>-quarantine-<n>` of at most
 * {@link PAGE_SIZE} records, so any number of records stays under CouchDB's document size limit.
 *
 * Meant to be folded into the runner's quarantine storage once that one is paged too. Browser-safe.
 */
import type { DocumentStore } from "../../store/port.js";
import { updateLocal } from "../runner/local.js";
import type { QuarantineRecord } from "../runner/types.js";

/** A quarantined document of a transformer: the runner's record, and the side it was read from. */
export interface TransformerQuarantineRecord extends QuarantineRecord {
  /** The side (version) the document is in. */
  readonly side: string;
}

/** Records per page document. */
export const PAGE_SIZE = 500;

const headId = (checkpoint: string): string => `${checkpoint}-quarantine`;
const pageId = (checkpoint: string, n: number): string => `${checkpoint}-quarantine-${n}`;
const keyOf = (r: TransformerQuarantineRecord): string => `${r.side}\u0000${r.id}\u0000${r.rev ?? ""}`;

function recordsOf(doc: Record<string, unknown> | undefined): TransformerQuarantineRecord[] {
  const records = doc?.["records"];
  return Array.isArray(records) ? (records as TransformerQuarantineRecord[]) : [];
}

async function pageCount(store: DocumentStore, checkpoint: string): Promise<number> {
  const head = await store.getLocal(headId(checkpoint));
  const pages = head?.["pages"];
  return typeof pages === "number" && Number.isInteger(pages) && pages > 0 ? pages : 0;
}

/** Every record stored for the transformer whose checkpoint is `checkpoint` (`_local/…`). */
export async function readTransformerQuarantine(store: DocumentStore, checkpoint: string): Promise<TransformerQuarantineRecord[]> {
  const out: TransformerQuarantineRecord[] = [];
  const pages = await pageCount(store, checkpoint);
  for (let n = 0; n < pages; n++) out.push(...recordsOf(await store.getLocal(pageId(checkpoint, n))));
  return out;
}

/**
 * Adds records (one per side, id and rev: a record already in the last page is not added again; the caller
 * knows the others). Pages are written
 * before the head that counts them, each with a read-modify-write, so a write cut short loses nothing: the
 * next call merges what a page already holds. Throws when a write fails; the caller keeps the records and
 * calls again.
 */
export async function appendTransformerQuarantine(store: DocumentStore, checkpoint: string, records: readonly TransformerQuarantineRecord[]): Promise<void> {
  if (records.length === 0) return;
  let pages = Math.max(1, await pageCount(store, checkpoint));
  let rest = [...records];
  for (let n = pages - 1; rest.length > 0; n++) {
    let left = rest;
    await updateLocal(store, pageId(checkpoint, n), (current) => {
      const old = recordsOf(current);
      const seen = new Set(old.map(keyOf));
      const fresh = rest.filter((r) => !seen.has(keyOf(r)));
      const room = Math.max(0, PAGE_SIZE - old.length);
      left = fresh.slice(room);
      return { v: 1, records: [...old, ...fresh.slice(0, room)] };
    });
    rest = left;
    pages = Math.max(pages, n + 1);
  }
  await updateLocal(store, headId(checkpoint), () => ({ v: 1, pages }));
}
