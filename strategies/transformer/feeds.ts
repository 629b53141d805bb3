/**
 * The transformer's `_changes` feeds: catching up page by page from the checkpoint, following live, and
 * each batch of changes mapped to the entities it touches, per side, for translation.
 */
import type { Change } from "../../store/port.js";
import { provenanceOf } from "./provenance.js";
import { loadCheckpoint, saveCheckpointLater } from "./checkpoint.js";
import { entityKey, type EntityRef, type ReadDoc } from "./plan.js";
import { entityOf, feedFailed, isOwnOutput, targets, type Feed, type TransformerState } from "./state.js";
import { deletedEntities, retryWaiting, translate } from "./translate.js";
import type { TransformerSide } from "./types.js";

/** Live changes queued before the feed is held back. */
const HIGH_WATER = 5000;
/** Own-write marks kept at most (marks of writes the feed coalesced with later ones are never seen). */
const MAX_MARKS = 50_000;

/** Follows `feed` live (with the changed documents) from its current position; changes are queued for the next tick. */
export function follow(state: TransformerState, feed: Feed): void {
  if (feed.live !== undefined || !state.running) return;
  const sub = {};
  feed.sub = sub;
  feed.live = feed.store.liveChanges(
    { ...(feed.since === undefined ? {} : { since: feed.since }), includeDocs: true },
    {
      onChange: (change) => {
        if (feed.sub !== sub) return undefined;
        const at = state.now();
        feed.queue.push({ change, at });
        feed.dirtySince ??= at;
        state.wake?.();
        if (feed.queue.length < HIGH_WATER) return undefined;
        return new Promise<void>((resolve) => feed.held.push(resolve));
      },
      onError: (e) => {
        if (feed.sub !== sub) return;
        feedFailed(state, feed, e);
        void unfollow(feed);
        state.wake?.();
      },
    },
  );
}

/** Stops following `feed` live and forgets what its live feed queued (it is read again from `since`). */
export function unfollow(feed: Feed): Promise<void> {
  const live = feed.live;
  feed.live = undefined;
  feed.sub = undefined;
  feed.queue = [];
  for (const release of feed.held.splice(0)) release();
  return live?.stop().catch(() => undefined) ?? Promise.resolve();
}

/** One tick of the live loop: every feed's queued changes as one batch each; returns the changes read. */
export async function tick(state: TransformerState): Promise<number> {
  const retryMs = state.o.retryMs ?? 500;
  let n = 0;
  for (const feed of [...state.feeds.values()]) {
    if (!state.running) break;
    try {
      if (feed.live === undefined) {
        // (Re)start: catch up page by page from the checkpoint, then follow live from there.
        if (feed.lastError !== undefined && state.now() - (feed.failedAt ?? 0) < retryMs) continue;
        // A short page means caught up: what comes after it arrives through the live feed.
        const page = state.o.batchSize ?? 100;
        for (let read = page; read >= page && state.running; ) {
          read = await pump(state, feed);
          n += read;
        }
        follow(state, feed);
      }
      n += await consume(state, feed);
      feed.lastError = undefined;
      saveCheckpointLater(state, feed);
    } catch (e) {
      feedFailed(state, feed, e);
    }
  }
  if (state.running && state.waiting.size > 0 && state.now() - state.lastRetry >= retryMs) await retryWaiting(state);
  return n;
}

/** Processes what the live feed queued (at most one batch); returns the changes read. */
export async function consume(state: TransformerState, feed: Feed): Promise<number> {
  const max = Math.max(state.o.batchSize ?? 100, 1000);
  const batch = feed.queue.splice(0, max);
  for (const release of feed.held.splice(0)) release();
  if (batch.length === 0) return 0;
  const sub = feed.sub;
  await processBatch(state, feed, batch.map((b) => b.change), true);
  if (feed.sub === sub) feed.since = batch[batch.length - 1]!.change.seq;
  feed.dirtySince = feed.queue[0]?.at;
  return batch.length;
}

/** One page of one feed (with the changed documents); returns the number of changes read. */
export async function pump(state: TransformerState, feed: Feed): Promise<number> {
  await loadCheckpoint(state, feed);
  const page = await feed.store.changes({ ...(feed.since === undefined ? {} : { since: feed.since }), limit: state.o.batchSize ?? 100, includeDocs: true });
  if (page.results.length === 0) {
    feed.since ??= page.lastSeq;
    if (feed.queue.length === 0) feed.dirtySince = undefined;
    return 0;
  }
  await processBatch(state, feed, page.results);
  feed.since = page.lastSeq;
  return page.results.length;
}

/**
 * Translates one batch of changes of `feed` (feed order): every changed entity once, per side, into every
 * other side. Skips `_local`/`_design` ids, this transformer's own writes and pristine transformer output; when
 * such output (another replica's translation) arrives from an entity this replica holds deleted, that deletion is
 * translated again, onto it.
 * `live`: the changes come from the live feed, as they happen (not read again from a checkpoint).
 */
export async function processBatch(state: TransformerState, feed: Feed, changes: readonly Change[], live = false): Promise<void> {
  const latest = new Map<string, Change>();
  const own = new Set<Change>();
  for (const c of changes) {
    if (c.id.startsWith("_")) continue;
    if (feed.written.delete(`${c.id}@${c.changes[0]?.rev ?? ""}`)) own.add(c);
    latest.delete(c.id); // keep feed order: the newest change of an id last
    latest.set(c.id, c);
  }
  if (feed.written.size > MAX_MARKS) feed.written.clear();
  const known = new Map<string, ReadDoc>();
  const bySide = new Map<TransformerSide, Map<string, EntityRef>>();
  const add = (side: TransformerSide, ref: EntityRef): void => {
    const m = bySide.get(side) ?? new Map<string, EntityRef>();
    m.set(entityKey(ref), ref);
    bySide.set(side, m);
  };
  /** Output another replica translated, by the side it was translated from. */
  const arrived = new Map<TransformerSide, EntityRef[]>();
  for (const c of latest.values()) {
    if (own.has(c) || (c.doc !== undefined && isOwnOutput(state, c.doc))) {
      state.skippedOwn += 1;
      const p = own.has(c) ? undefined : provenanceOf(c.doc);
      const from = state.sides.find((s) => s.name === p?.from);
      const ref = from === undefined ? undefined : entityOf(state, from, p!.id);
      if (from !== undefined && ref !== undefined) arrived.set(from, [...(arrived.get(from) ?? []), ref]);
      continue;
    }
    const rev = c.changes[0]?.rev ?? c.doc?._rev ?? "";
    if (c.deleted === true) known.set(c.id, { state: "deleted", id: c.id, rev });
    else if (c.doc !== undefined && c.doc._rev === rev) known.set(c.id, { state: "live", doc: c.doc });
    for (const side of state.sides) {
      if (side.store !== feed.store) continue;
      const ref = entityOf(state, side, c.id);
      if (ref !== undefined) add(side, ref);
    }
  }
  // A translation that arrives after its source's deletion was translated here (when this replica held nothing of the
  // entity, or only another branch) would stand, a live leaf the deletion never reached: the deletion is translated again.
  for (const [side, refs] of arrived) for (const ref of await deletedEntities(state, side, refs)) add(side, ref);
  // What one side's translation writes into another side's store outdates the feed's copy of it: read
  // those documents again when that side is translated in turn.
  const before = state.writtenIds;
  state.writtenIds = new Set();
  try {
    for (const [side, ents] of bySide) {
      for (const id of state.writtenIds) known.delete(id);
      await translate(state, side, [...ents.values()], targets(state, side), known, live);
    }
  } finally {
    state.writtenIds = before;
  }
  feed.processed += changes.length;
  feed.unsaved += changes.length;
}

