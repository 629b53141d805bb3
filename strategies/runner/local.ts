/**
 * `_local` state of a run: checkpoint, quarantine and lease documents, written with 409-retry
 * (CONVENTIONS §8). Browser-safe.
 */
import { DivanError, isDivanError } from "../../core/errors.js";
import type { DocumentStore, LocalDoc } from "../../store/port.js";
import type { CheckpointState, QuarantineRecord } from "./types.js";

/** `_local` id of a run's checkpoint. */
export const checkpointId = (id: string): string => `_local/divan-migration-${id}`;
/** `_local` id of a run's quarantine list. */
export const quarantineId = (id: string): string => `_local/divan-quarantine-${id}`;
/** `_local` id of a run's lease. */
export const leaseId = (id: string): string => `_local/divan-lease-${id}`;

/**
 * Read-modify-write of a `_local` document, retried on `CONFLICT` (another writer got there first).
 * `update` gets the current document (or `undefined`) and returns the new body (without `_id`/`_rev`).
 * Resolves with the new revision.
 */
export async function updateLocal(
  store: DocumentStore,
  id: string,
  update: (current: LocalDoc | undefined) => Record<string, unknown>,
  attempts = 10,
): Promise<string> {
  for (let i = 0; ; i++) {
    const current = await store.getLocal(id);
    const body = update(current);
    try {
      return (await store.putLocal({ ...body, _id: id, ...(current?._rev === undefined ? {} : { _rev: current._rev }) })).rev;
    } catch (e) {
      if (!isDivanError(e, "CONFLICT") || i >= attempts) throw e;
    }
  }
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
 * it is one write; without it, or when someone else wrote the document since, a read-modify-write with
 * 409-retry.
 */
export async function writeCheckpoint(store: DocumentStore, id: string, state: CheckpointState, rev?: string): Promise<string> {
  if (rev !== undefined) {
    try {
      return (await store.putLocal({ ...state, _id: checkpointId(id), _rev: rev })).rev;
    } catch (e) {
      if (!isDivanError(e, "CONFLICT")) throw e;
    }
  }
  return updateLocal(store, checkpointId(id), () => ({ ...state }));
}

/** Every quarantine record of a run (`_local/divan-quarantine-<id>`). */
export async function readQuarantine(store: DocumentStore, id: string): Promise<QuarantineRecord[]> {
  const doc = await store.getLocal(quarantineId(id));
  const records = doc?.["records"];
  return Array.isArray(records) ? (records as QuarantineRecord[]) : [];
}

/** Appends quarantine records, one per (id, rev): a rerun does not duplicate them. */
export async function appendQuarantine(store: DocumentStore, id: string, records: readonly QuarantineRecord[]): Promise<void> {
  if (records.length === 0) return;
  await updateLocal(store, quarantineId(id), (current) => {
    const old = Array.isArray(current?.["records"]) ? (current["records"] as QuarantineRecord[]) : [];
    const seen = new Set(old.map((r) => `${r.id}@${r.rev ?? ""}`));
    const added = records.filter((r) => !seen.has(`${r.id}@${r.rev ?? ""}`));
    return { v: 1, records: [...old, ...added] };
  });
}

/** The lease document body. */
export interface LeaseState {
  readonly v: 1;
  readonly owner: string;
  readonly expiresAt: number;
}

/** Reads the lease of a run, if any. */
export async function readLease(store: DocumentStore, id: string): Promise<LeaseState | undefined> {
  const doc = await store.getLocal(leaseId(id));
  if (doc === undefined || doc["v"] !== 1 || typeof doc["owner"] !== "string" || typeof doc["expiresAt"] !== "number") return undefined;
  return { v: 1, owner: doc["owner"], expiresAt: doc["expiresAt"] };
}

/**
 * Takes (or renews) the lease for `owner` until `now + ttlMs`.
 *
 * @throws DivanError `LEASE_HELD` when another owner holds an unexpired lease, or won a race for it.
 */
export async function acquireLease(store: DocumentStore, id: string, owner: string, ttlMs: number, now: number): Promise<void> {
  const current = await store.getLocal(leaseId(id));
  const held = current !== undefined && current["v"] === 1 && typeof current["owner"] === "string" && typeof current["expiresAt"] === "number";
  if (held && current["owner"] !== owner && (current["expiresAt"] as number) > now) {
    throw new DivanError(
      "LEASE_HELD",
      `migration ${id} on ${store.name} is running under owner "${String(current["owner"])}" until ${new Date(current["expiresAt"] as number).toISOString()}; wait for it, or stop it`,
      { details: { owner: current["owner"], expiresAt: current["expiresAt"], id } },
    );
  }
  try {
    await store.putLocal({ _id: leaseId(id), ...(current?._rev === undefined ? {} : { _rev: current._rev }), v: 1, owner, expiresAt: now + ttlMs });
  } catch (e) {
    if (isDivanError(e, "CONFLICT")) {
      throw new DivanError("LEASE_HELD", `migration ${id} on ${store.name}: another runner took the lease at the same moment`, { cause: e, details: { id } });
    }
    throw e;
  }
}

/** Releases the lease if `owner` holds it. */
export async function releaseLease(store: DocumentStore, id: string, owner: string): Promise<void> {
  const current = await store.getLocal(leaseId(id));
  if (current !== undefined && current["owner"] === owner) await store.removeLocal(leaseId(id));
}
