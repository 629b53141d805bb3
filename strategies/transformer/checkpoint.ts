/**
 * A followed database's checkpoint: `_local/<checkpointId>` holds its position and quarantine
 * (`{ v: 1, since, quarantine }`), loaded once and saved every `checkpointEvery` changes or `checkpointMs` ms.
 */
import type { Seq } from "../../store/port.js";
import { putLocalAt } from "../runner/local.js";
import { appendTransformerQuarantine, readTransformerQuarantine } from "./quarantine.js";
import { feedFailed, MAX_RECORDS, type Feed, type TransformerState } from "./state.js";
import type { QuarantineEntry } from "./types.js";

/** The checkpoint document's body. */
interface CheckpointDoc {
  v: 1;
  since: Seq | undefined;
  quarantine: QuarantineEntry[];
}

/** Reads the checkpoint of `feed` (its position and quarantine) the first time it is needed. */
export async function loadCheckpoint(state: TransformerState, feed: Feed): Promise<void> {
  if (feed.loaded) return;
  const doc = await feed.store.getLocal(state.checkpoint);
  feed.checkpointRev = doc?._rev;
  if (doc !== undefined && doc["v"] === 1) {
    const c = doc as unknown as CheckpointDoc;
    feed.since = c.since;
    feed.quarantine = Array.isArray(c.quarantine) ? c.quarantine : [];
  }
  feed.refused = await readTransformerQuarantine(feed.store, state.checkpoint);
  feed.loaded = true;
}

/**
 * Starts a due checkpoint save without holding the live loop up: the next batch is translated while
 * the `_local` write is in flight (three followed databases used to add three round trips in a row to
 * a tick every `checkpointMs`). One save per feed at a time; a failure is reported like a feed error.
 */
export function saveCheckpointLater(state: TransformerState, feed: Feed): void {
  if (feed.saving !== undefined) return;
  const saving: Promise<void> = saveCheckpoint(state, feed, false)
    .catch((e: unknown) => feedFailed(state, feed, e))
    .finally(() => {
      if (feed.saving === saving) feed.saving = undefined;
    });
  feed.saving = saving;
}

/**
 * Saves the checkpoint when `force`d (and anything is unsaved), or when `checkpointEvery` changes or
 * `checkpointMs` ms have passed with changes unsaved. Writes with the revision it knows; re-reads on 409.
 * A forced save first waits for a save in flight. It records the position the feed had when it began:
 * changes processed while it is in flight stay counted as unsaved.
 */
export async function saveCheckpoint(state: TransformerState, feed: Feed, force: boolean): Promise<void> {
  if (force && feed.saving !== undefined) await feed.saving;
  if (!feed.loaded || (feed.unsaved === 0 && !feed.quarantineDirty)) return;
  const due = feed.quarantineDirty || feed.unsaved >= (state.o.checkpointEvery ?? 1000) || state.now() - feed.savedAt >= (state.o.checkpointMs ?? 1000);
  if (!force && !due) return;
  const body: CheckpointDoc = { v: 1, since: feed.since, quarantine: feed.quarantine.slice(-MAX_RECORDS) };
  const count = feed.unsaved;
  const dirty = feed.quarantineDirty;
  feed.quarantineDirty = false; // a quarantine recorded while saving marks it again
  try {
    if (feed.refusedPending.length > 0) {
      const stored = feed.refusedPending.slice();
      await appendTransformerQuarantine(feed.store, state.checkpoint, stored);
      feed.refusedPending.splice(0, stored.length);
    }
    feed.checkpointRev = await putLocalAt(feed.store, state.checkpoint, { ...body }, feed.checkpointRev);
  } catch (e) {
    if (dirty) feed.quarantineDirty = true;
    throw e;
  }
  state.checkpoints += 1;
  feed.unsaved -= count;
  feed.savedAt = state.now();
}

