/**
 * Writing translations: revisions derived from content (`deterministicRevs`, a conflict's winning branch), and
 * what a failed write becomes (the entity retried with a growing delay, or its source documents quarantined).
 */
import { withDeterministicRev } from "../runner/canonical.js";
import type { Doc, DocumentStore, WriteResult } from "../../store/port.js";
import { entityKey, type EntityRef, type ReadDoc } from "./plan.js";
import { contentHash, hash128, stableJson } from "./provenance.js";
import type { TransformerState } from "./state.js";
import type { QuarantineEntry, TransformerSide } from "./types.js";

/** The live source document `id` of entity `e`, if it was read. */
export function sourceDoc(sourceDocs: ReadonlyMap<string, Record<string, ReadDoc>>, e: EntityRef, id?: string): Doc | undefined {
  for (const r of Object.values(sourceDocs.get(entityKey(e)) ?? {})) if (r.state === "live" && (id === undefined || r.doc._id === id)) return r.doc;
  return undefined;
}

/**
 * A write of entity `f.entity` into `target` failed: retried (the entity waits, with a growing delay) while
 * it may pass later and tries are left, else the entity's source documents are quarantined.
 */
export function writeFailed(state: TransformerState, source: TransformerSide, target: TransformerSide, f: WriteFailure, sourceDocs: ReadonlyMap<string, Record<string, ReadDoc>>, waitingNow: Set<string>): void {
  const key = `${source.name}\u0000${entityKey(f.entity)}`;
  const attempts = (state.failures.get(key)?.attempts ?? 0) + 1;
  const retryable = RETRYABLE.has(f.code);
  if (retryable && attempts < (state.o.writeAttempts ?? 8)) {
    const retryMs = state.o.retryMs ?? 500;
    const delay = attempts === 1 ? 0 : Math.min(retryMs * 2 ** (attempts - 2), MAX_BACKOFF_MS);
    state.failures.set(key, { attempts, dueAt: state.now() + delay });
    waitingNow.add(entityKey(f.entity));
    state.waiting.set(key, { side: source.name, entity: f.entity });
    state.o.onEvent?.({ type: "retry", side: target.name, id: f.id, code: f.code, reason: f.reason, attempt: attempts, retryInMs: delay });
    return;
  }
  state.failures.delete(key);
  const doc = sourceDoc(sourceDocs, f.entity);
  const feed = state.feeds.get(source.store)!;
  const record: QuarantineEntry = {
    side: source.name,
    id: doc?._id ?? f.id,
    rev: doc?._rev,
    type: doc?.[state.typeField] as string | undefined,
    version: doc?.[state.versionField],
    code: f.code,
    reason: `writing ${f.id} into ${target.name} ${retryable ? `failed ${attempts} attempts` : "was refused"}: ${f.code}: ${f.reason}`,
  };
  if (feed.refused.some((q) => q.side === record.side && q.id === record.id && q.rev === record.rev)) return;
  feed.refused.push(record);
  feed.refusedPending.push(record);
  feed.quarantineDirty = true;
  state.o.onEvent?.({ type: "quarantine", record });
}

/** A failed write of one entity. */
export interface WriteFailure {
  readonly entity: EntityRef;
  readonly id: string;
  readonly code: string;
  readonly reason: string;
}

/** Write failures that may pass when tried again: the target changed under us, or could not be reached. */
export const RETRYABLE: ReadonlySet<string> = new Set(["CONFLICT", "STORE_UNAVAILABLE"]);
/** The longest delay between two tries of a failed write. */
const MAX_BACKOFF_MS = 60_000;

/**
 * Writes `docs` with deterministic revisions (`new_edits: false`), one result per document like
 * `bulkDocs`. A document whose planned parent (its `_rev`, or none for a creation) is no longer the
 * target's current revision is not written and answers `CONFLICT`, as a normal write would (a
 * `new_edits: false` write never refuses: it would add a conflicting branch instead). A creation over a
 * tombstone answers `CONFLICT` too: it was planned without reading the target (a new entity), and a deleted
 * entity is never created again (the plan, given the tombstone, writes nothing).
 */
export async function writeDeterministic(store: DocumentStore, docs: readonly Doc[]): Promise<WriteResult[]> {
  const current = await store.allDocs({ keys: docs.map((d) => d._id) });
  const results: (WriteResult | undefined)[] = [];
  const toWrite: Doc[] = [];
  docs.forEach((doc, i) => {
    const row = current.rows[i];
    const at = row?.value?.rev;
    const planned = typeof doc._rev === "string" ? doc._rev : undefined;
    if (planned !== at) {
      results.push({ id: doc._id, ok: false, error: { code: "CONFLICT", reason: `${doc._id} is at ${at ?? "no revision"}, not the planned parent ${planned ?? "none"}` } });
      return;
    }
    const out = withDeterministicRev(doc);
    toWrite.push(out);
    results.push(undefined);
  });
  const written = toWrite.length === 0 ? [] : await store.bulkDocs(toWrite, { newEdits: false });
  let next = 0;
  return results.map((r) => r ?? written[next++] ?? { id: "", ok: false, error: { code: "CONFLICT", reason: "no answer for this write" } });
}

/**
 * The document to write with `new_edits: false` so that it beats `loser` (whose `_revisions` are given):
 * a sibling at the loser's generation and a child of it at the next, both with revision ids derived from
 * the content and its provenance (deterministic). The loser stays as a conflict revision. The provenance
 * counts: a translation of a newer source revision that reads like an earlier branch the stale scan ended
 * (`stale.ts`) is a new branch, not that ended one again (writing an existing revision changes nothing).
 */
export function winningBranch(doc: Doc, loserRevisions: { start: number; ids: string[] }): Doc {
  const { _rev: _r, _revisions: _s, _conflicts: _c, ...body } = doc;
  const seed = `${hash128(stableJson(body))}|${loserRevisions.start}-${loserRevisions.ids[0] ?? ""}`;
  const a = hashId(`${seed}|a`);
  const b = hashId(`${seed}|b`);
  const start = loserRevisions.start + 1;
  const ids = [a, b, ...loserRevisions.ids.slice(1)];
  const out: Doc = { ...doc, _rev: `${start}-${a}`, _revisions: { start, ids } };
  return out;
}

function hashId(text: string): string {
  return contentHash({ _id: text });
}
