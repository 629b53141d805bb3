/**
 * The state of a run. Browser-safe.
 *
 * - In `_local` documents of the database a run writes (one writer: the lease holder): the checkpoint
 *   (`_local/divan-migration-<id>`), the quarantine (a head `_local/divan-quarantine-<id>` and pages of bounded
 *   size `…-<id>-<n>`, so it holds any number of records), the list of jobs (`_local/divan-jobs`) and, in a copy,
 *   the marker saying which database it copies (`_local/divan-copy`). CouchDB 3 does not check the revision of a
 *   `_local` write (last writer wins; PouchDB does check), which is fine for state one writer owns.
 * - The lease, which keeps two runners off one database, needs a revision check that holds on every server: it
 *   is an ordinary document (`lease:<database name>`) in a database of divan's own that no device replicates (the
 *   CLI's `<db>$divan`), so a stale or missing `_rev` gets `CONFLICT`.
 */
import { DivanError, isDivanError } from "../../core/errors.js";
import { retryOnConflict } from "../../core/retry.js";
import { getIfExists, type DocumentStore, type LocalDoc } from "../../store/port.js";
import type { CheckpointState, QuarantineRecord } from "./types.js";

/** `_local` id of a run's checkpoint. */
export const checkpointId = (id: string): string => `_local/divan-migration-${id}`;
/** `_local` id of a run's quarantine head (its pages are `…-<n>`). */
export const quarantineId = (id: string): string => `_local/divan-quarantine-${id}`;
/** `_local` id of the list of jobs that ran on a database. */
export const JOBS_ID = "_local/divan-jobs";
/** `_local` id of the marker a copy run writes into its target. */
export const COPY_MARKER_ID = "_local/divan-copy";
/** Id of the lease document of the database named `database`, in the state database. */
export const leaseId = (database: string): string => `lease:${database}`;

/** At most this many records per quarantine page. */
const PAGE_RECORDS = 500;
/** At most this many characters of JSON per quarantine page (CouchDB's documents are at most 8 MB; pages stay far below). */
const PAGE_CHARS = 1_000_000;
/** A reason is cut to this many characters (a record stays small, so a page's size is bounded). */
const REASON_CHARS = 2_000;

/**
 * Read-modify-write of a `_local` document, retried on `CONFLICT` (PouchDB checks `_local` revisions).
 * `update` gets the current document (or `undefined`) and returns the new body (without `_id`/`_rev`).
 * Resolves with the new revision.
 */
export async function updateLocal(store: DocumentStore, id: string, update: (current: LocalDoc | undefined) => Record<string, unknown>): Promise<string> {
  return retryOnConflict(`${id} on ${store.name}`, async () => {
    const current = await store.getLocal(id);
    const body = update(current);
    return (await store.putLocal({ ...body, _id: id, ...(current?._rev === undefined ? {} : { _rev: current._rev }) })).rev;
  }, { details: { id } });
}

/** The stored checkpoint, if any and of a version this code reads. */
export async function readCheckpoint(store: DocumentStore, id: string): Promise<CheckpointState | undefined> {
  const doc = await store.getLocal(checkpointId(id));
  if (doc === undefined || doc["v"] !== 1) return undefined;
  const { _id, _rev, ...state } = doc;
  void _id;
  void _rev;
  return state as unknown as CheckpointState;
}

/**
 * Writes the checkpoint and resolves with its new revision. With `rev` (the revision this writer wrote last)
 * it is one write; without it, or when PouchDB reports that someone else wrote it since, a read-modify-write.
 */
export function writeCheckpoint(store: DocumentStore, id: string, state: CheckpointState, rev?: string): Promise<string> {
  return putLocalAt(store, checkpointId(id), { ...state }, rev);
}

/**
 * Writes `body` as `_local` document `id` of one writer and resolves with its new revision: one write at `rev` (the
 * revision this writer wrote last); without it, or when the store says someone else wrote it since, a read-modify-write.
 */
export async function putLocalAt(store: DocumentStore, id: string, body: Record<string, unknown>, rev: string | undefined): Promise<string> {
  if (rev !== undefined) {
    try {
      return (await store.putLocal({ ...body, _id: id, _rev: rev })).rev;
    } catch (e) {
      if (!isDivanError(e, "CONFLICT")) throw e;
    }
  }
  return updateLocal(store, id, () => body);
}

/** Removes a run's checkpoint. */
export async function removeCheckpoint(store: DocumentStore, id: string): Promise<void> {
  await store.removeLocal(checkpointId(id));
}

// ---------------------------------------------------------------------------------------------- quarantine

const recordKey = (r: Pick<QuarantineRecord, "id" | "rev">): string => `${r.id}@${r.rev ?? ""}`;

function pageId(id: string, n: number): string {
  return `${quarantineId(id)}-${n}`;
}

/** The page count of a quarantine head (0 without one); a head of divan 0.1 (`records` inline) is read as it is. */
function headOf(doc: LocalDoc | undefined): { pages: number; inline: QuarantineRecord[] } {
  if (doc === undefined) return { pages: 0, inline: [] };
  if (Array.isArray(doc["records"])) return { pages: 0, inline: doc["records"] as QuarantineRecord[] };
  return { pages: typeof doc["pages"] === "number" ? doc["pages"] : 0, inline: [] };
}

/** Every quarantine record of a run, in the order they were added. */
export async function readQuarantine(store: DocumentStore, id: string): Promise<QuarantineRecord[]> {
  const head = headOf(await store.getLocal(quarantineId(id)));
  const out = [...head.inline];
  for (let n = 0; n < head.pages; n++) {
    const page = await store.getLocal(pageId(id, n));
    if (Array.isArray(page?.["records"])) out.push(...(page["records"] as QuarantineRecord[]));
  }
  return out;
}

/** The number of quarantine records of a run, from its head (one read). */
export async function quarantineCount(store: DocumentStore, id: string): Promise<number> {
  const doc = await store.getLocal(quarantineId(id));
  if (doc === undefined) return 0;
  if (Array.isArray(doc["records"])) return doc["records"].length;
  return typeof doc["count"] === "number" ? doc["count"] : (await readQuarantine(store, id)).length;
}

/** Cuts a record's reason to a bounded length (a page holds at most {@link PAGE_RECORDS} of them). */
export function boundedRecord(r: QuarantineRecord): QuarantineRecord {
  return r.reason.length <= REASON_CHARS ? r : { ...r, reason: `${r.reason.slice(0, REASON_CHARS)}… (cut)` };
}

/**
 * The quarantine of a run as its one writer keeps it: loaded once, appended to in pages of bounded size (one
 * `(id, rev)` once), written page by page and then the head, so a failed write changes nothing it remembers
 * and the same records are written again by the next {@link QuarantineLog.append}.
 */
export class QuarantineLog {
  private records: QuarantineRecord[] = [];
  private readonly keys = new Set<string>();
  /** Records per stored page, in order. */
  private pages: QuarantineRecord[][] = [];
  private readonly revs = new Map<string, string>();
  private headRev: string | undefined;
  private legacy = false;

  private constructor(
    private readonly store: DocumentStore,
    private readonly id: string,
  ) {}

  /** Loads the stored quarantine of run `id`. */
  static async load(store: DocumentStore, id: string): Promise<QuarantineLog> {
    const log = new QuarantineLog(store, id);
    const headDoc = await store.getLocal(quarantineId(id));
    log.headRev = headDoc?._rev;
    const head = headOf(headDoc);
    log.legacy = head.inline.length > 0;
    const all: QuarantineRecord[] = [...head.inline];
    for (let n = 0; n < head.pages; n++) {
      const page = await store.getLocal(pageId(id, n));
      if (page?._rev !== undefined) log.revs.set(pageId(id, n), page._rev);
      all.push(...(Array.isArray(page?.["records"]) ? (page["records"] as QuarantineRecord[]) : []));
    }
    log.replace(all);
    log.legacy = head.inline.length > 0;
    return log;
  }

  /** Every stored record. */
  all(): readonly QuarantineRecord[] {
    return this.records;
  }

  /** True when `(id, rev)` is recorded. */
  has(r: Pick<QuarantineRecord, "id" | "rev">): boolean {
    return this.keys.has(recordKey(r));
  }

  private replace(records: QuarantineRecord[]): void {
    this.records = records;
    this.keys.clear();
    for (const r of records) this.keys.add(recordKey(r));
    this.pages = paginate(records);
  }

  /** Adds records not stored yet and writes the pages they land on, then the head. Rejects (remembering nothing) when a write fails. */
  async append(records: readonly QuarantineRecord[]): Promise<void> {
    const seen = new Set<string>();
    const added = records.map(boundedRecord).filter((r) => {
      const k = recordKey(r);
      if (this.keys.has(k) || seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    if (added.length === 0 && !this.legacy) return;
    const all = [...this.records, ...added];
    const pages = paginate(all);
    // Pages before the first one that changed are written as they are already.
    let first = 0;
    while (first < this.pages.length && first < pages.length && pages[first]!.length === this.pages[first]!.length && !this.legacy) first++;
    await this.write(pages, first);
    this.replace(all);
    this.legacy = false;
  }

  /** Keeps only the records `keep` accepts (rewrites every page, removes surplus ones). */
  async retain(keep: (r: QuarantineRecord) => boolean): Promise<void> {
    const kept = this.records.filter(keep);
    if (kept.length === this.records.length && !this.legacy) return;
    const pages = paginate(kept);
    const before = this.pages.length;
    await this.write(pages, 0);
    for (let n = pages.length; n < before; n++) {
      await this.store.removeLocal(pageId(this.id, n));
      this.revs.delete(pageId(this.id, n));
    }
    this.replace(kept);
    this.legacy = false;
  }

  private async write(pages: readonly QuarantineRecord[][], from: number): Promise<void> {
    for (let n = from; n < pages.length; n++) {
      const id = pageId(this.id, n);
      this.revs.set(id, await this.put(id, { v: 2, records: pages[n]! }, this.revs.get(id)));
    }
    const count = pages.reduce((s, p) => s + p.length, 0);
    this.headRev = await this.put(quarantineId(this.id), { v: 2, pages: pages.length, count }, this.headRev);
  }

  private put(id: string, body: Record<string, unknown>, rev: string | undefined): Promise<string> {
    return putLocalAt(this.store, id, body, rev);
  }
}

function paginate(records: readonly QuarantineRecord[]): QuarantineRecord[][] {
  const pages: QuarantineRecord[][] = [];
  let page: QuarantineRecord[] = [];
  let chars = 0;
  for (const r of records) {
    const size = JSON.stringify(r).length + 1;
    if (page.length > 0 && (page.length >= PAGE_RECORDS || chars + size > PAGE_CHARS)) {
      pages.push(page);
      page = [];
      chars = 0;
    }
    page.push(r);
    chars += size;
  }
  if (page.length > 0) pages.push(page);
  return pages;
}

/** Removes a run's quarantine (head and pages). */
export async function removeQuarantine(store: DocumentStore, id: string): Promise<void> {
  const head = headOf(await store.getLocal(quarantineId(id)));
  for (let n = 0; n < head.pages; n++) await store.removeLocal(pageId(id, n));
  await store.removeLocal(quarantineId(id));
}

// ---------------------------------------------------------------------------------------------- jobs

/** One job that ran on a database, as `_local/divan-jobs` lists it. */
export interface JobEntry {
  readonly id: string;
  /** `up` for a migration, `down` for a rollback. */
  readonly direction: "up" | "down";
  /** The target shape. */
  readonly to: Readonly<Record<string, number>>;
  /** Where the documents come from, when it is another database (a copy). */
  readonly source?: string;
  /** When it first ran (ms). */
  readonly startedAt: number;
}

/** Every job recorded on a database, oldest first. */
export async function readJobs(store: DocumentStore): Promise<JobEntry[]> {
  const doc = await store.getLocal(JOBS_ID);
  return Array.isArray(doc?.["jobs"]) ? (doc["jobs"] as JobEntry[]) : [];
}

/** Records a job on the database it writes (kept when it is there already). */
export async function recordJob(store: DocumentStore, job: JobEntry): Promise<void> {
  const jobs = await readJobs(store);
  if (jobs.some((j) => j.id === job.id)) return;
  await updateLocal(store, JOBS_ID, (current) => {
    const list = Array.isArray(current?.["jobs"]) ? (current["jobs"] as JobEntry[]) : [];
    return { v: 1, jobs: list.some((j) => j.id === job.id) ? list : [...list, job] };
  });
}

/** Removes a job from the list of a database. */
export async function forgetJob(store: DocumentStore, id: string): Promise<void> {
  const jobs = await readJobs(store);
  if (!jobs.some((j) => j.id === id)) return;
  await updateLocal(store, JOBS_ID, (current) => {
    const list = Array.isArray(current?.["jobs"]) ? (current["jobs"] as JobEntry[]) : [];
    return { v: 1, jobs: list.filter((j) => j.id !== id) };
  });
}

// ---------------------------------------------------------------------------------------------- copy marker

/** What a copy run records in its target: which database it copies, and the job. */
export interface CopyMarker {
  readonly v: 1;
  /** The source database's name. */
  readonly source: string;
  /** The job that created the copy. */
  readonly job: string;
  readonly createdAt: number;
}

/** The copy marker of a database, if divan created it as a copy. */
export async function readCopyMarker(store: DocumentStore): Promise<CopyMarker | undefined> {
  const doc = await store.getLocal(COPY_MARKER_ID);
  if (doc === undefined || doc["v"] !== 1 || typeof doc["source"] !== "string" || typeof doc["job"] !== "string") return undefined;
  return { v: 1, source: doc["source"], job: doc["job"], createdAt: typeof doc["createdAt"] === "number" ? doc["createdAt"] : 0 };
}

/**
 * Claims `target` as the copy of `source` for job `job`: writes the marker into an empty database, or checks the
 * one there. Resolves `true` when it wrote the marker (the database held no document, deleted or not), `false` when
 * the marker was there.
 *
 * @throws DivanError `NOT_A_COPY` when the target holds documents but no marker, or is the copy of another database.
 */
export async function claimCopyTarget(target: DocumentStore, source: { name: string; database: string }, job: string, now: number): Promise<boolean> {
  const marker = await readCopyMarker(target);
  if (marker !== undefined) {
    if (marker.source !== source.database) {
      throw new DivanError("NOT_A_COPY", `${target.name} is divan's copy of database "${marker.source}", not of ${source.name}; give a new database as --target`, {
        details: { target: target.name, copyOf: marker.source },
      });
    }
    return false;
  }
  const info = await target.info();
  if (info.docCount > 0 || (info.docDelCount ?? 0) > 0) {
    throw new DivanError(
      "NOT_A_COPY",
      `${target.name} already holds ${info.docCount} document(s) (and ${info.docDelCount ?? 0} deleted) and is no copy divan made: a copy goes into a new or empty database; give another --target`,
      { details: { target: target.name, docCount: info.docCount } },
    );
  }
  await target.putLocal({ _id: COPY_MARKER_ID, v: 1, source: source.database, job, createdAt: now });
  return true;
}

// ---------------------------------------------------------------------------------------------- lease

/** The lease document body. */
export interface LeaseState {
  readonly v: 1;
  readonly owner: string;
  readonly expiresAt: number;
  /** The job the lease was taken for. */
  readonly job?: string;
}

function leaseOf(doc: Record<string, unknown> | undefined): LeaseState | undefined {
  if (doc === undefined || doc["v"] !== 1 || typeof doc["owner"] !== "string" || typeof doc["expiresAt"] !== "number") return undefined;
  return { v: 1, owner: doc["owner"], expiresAt: doc["expiresAt"], ...(typeof doc["job"] === "string" ? { job: doc["job"] } : {}) };
}


/** Reads the lease on database `database` from the state database, if any. */
export async function readLease(state: DocumentStore, database: string): Promise<LeaseState | undefined> {
  return leaseOf(await getIfExists(state, leaseId(database)));
}

/**
 * Takes (or renews) the lease on database `database` for `owner` until `now + ttlMs`: an ordinary document in the
 * state database, written with the revision just read, so of two runners that try at the same moment exactly one
 * succeeds (the other gets `CONFLICT`) on CouchDB and on PouchDB alike.
 *
 * @throws DivanError `LEASE_HELD` when another owner holds an unexpired lease, or won a race for it.
 */
export async function acquireLease(state: DocumentStore, database: string, owner: string, ttlMs: number, now: number, job?: string): Promise<void> {
  const id = leaseId(database);
  const current = await getIfExists(state, id);
  const held = leaseOf(current);
  if (held !== undefined && held.owner !== owner && held.expiresAt > now) {
    throw new DivanError(
      "LEASE_HELD",
      `${held.job === undefined ? "a migration" : `migration ${held.job}`} on ${database} is running under owner "${held.owner}" until ${new Date(held.expiresAt).toISOString()}; wait for it, or stop it`,
      { details: { owner: held.owner, expiresAt: held.expiresAt, database, ...(held.job === undefined ? {} : { job: held.job }) } },
    );
  }
  try {
    await state.put({ _id: id, ...(current?._rev === undefined ? {} : { _rev: current._rev }), v: 1, owner, expiresAt: now + ttlMs, ...(job === undefined ? {} : { job }) });
  } catch (e) {
    if (isDivanError(e, "CONFLICT")) {
      throw new DivanError("LEASE_HELD", `migration on ${database}: another runner took the lease at the same moment`, { cause: e, details: { database } });
    }
    throw e;
  }
}

/**
 * Releases the lease on `database` if `owner` holds it. A `CONFLICT` (the owner's own renewal landed meanwhile, or
 * another runner took the expired lease over) reads the lease again: it is released while it is still `owner`'s.
 */
export async function releaseLease(state: DocumentStore, database: string, owner: string): Promise<void> {
  await retryOnConflict(`the lease on ${database}`, async () => {
    const current = await getIfExists(state, leaseId(database));
    if (current === undefined || current["owner"] !== owner || current._rev === undefined) return;
    await state.remove(leaseId(database), current._rev);
  }, { details: { database } });
}
