/**
 * The runner's "report" phase: each translated document's result from what its writes got, and the run's quarantine
 * kept on the target (written as it grows, pruned of records whose revision is gone).
 */
import type { WriteResult } from "../../store/port.js";
import { revOf, type Item, type RunContext, type Write } from "./context.js";
import { currentDocs, storedOrNull } from "./stored.js";
import type { PlannedWrites } from "./write.js";

/**
 * The result of every document of the written entities: migrated (or skipped when nothing needed writing), a conflict
 * carrying the current stored document, or quarantined when the target refused a write (in a copy, also carried).
 */
export async function reportEntities(ctx: RunContext, entities: PlannedWrites["entities"], outcome: ReadonlyMap<Write, WriteResult>, copies: Item[]): Promise<void> {
  // Synchronous unless a write failed: an entity whose writes all went through costs no promise.
  const failed = (ws: readonly Write[]): { conflict: string } | { error: { code: string; reason: string } } | undefined => {
    for (const w of ws) {
      const r = outcome.get(w);
      if (r === undefined || r.ok) continue;
      return r.error.code === "CONFLICT" ? { conflict: w.doc._id } : { error: r.error };
    }
    return undefined;
  };
  for (const { job, writes: ws } of entities) {
    const f = failed(ws);
    const current = f !== undefined && "conflict" in f ? await storedOrNull(ctx, f.conflict) : undefined;
    const writtenIds = ws.map((w) => w.doc._id);
    for (const it of job.items) {
      const isInput = job.input[it.type!] === it.doc;
      if (f === undefined) {
        if (!isInput && !writtenIds.includes(it.doc._id)) ctx.skip(it, "already at the target version (used as the translation's base)");
        else if (ws.length === 0) ctx.skip(it, "the target already has this content");
        else ctx.result({ status: "migrated", id: it.doc._id, ...revOf(it.doc), written: writtenIds });
      } else if ("error" in f) {
        ctx.quarantineItem(it, f.error.code, `the target refused the write: ${f.error.reason}`);
        if (!ctx.inPlace) copies.push(it);
      } else {
        ctx.result({ status: "conflict", id: it.doc._id, ...revOf(it.doc), current: current ?? undefined });
      }
    }
  }
}

/** Writes the records quarantined since the last flush; on failure they stay pending for the next one. */
export async function flushQuarantine(ctx: RunContext): Promise<void> {
  const log = ctx.log;
  if (ctx.pendingQuarantine.length === 0 || log === undefined) return;
  const batch = ctx.pendingQuarantine;
  ctx.pendingQuarantine = [];
  try {
    await ctx.retry(() => log.append(batch));
  } catch (e) {
    ctx.pendingQuarantine = [...batch, ...ctx.pendingQuarantine];
    throw e;
  }
}

/** Drops the quarantine records whose revision is no longer a leaf of its document in the source (it changed since). */
export async function pruneQuarantine(ctx: RunContext): Promise<void> {
  const log = ctx.log;
  if (log === undefined || log.all().length === 0) return;
  const ids = [...new Set(log.all().map((r) => r.id))];
  const leaves = new Map<string, Set<string>>();
  for (let i = 0; i < ids.length; i += ctx.batchSize) {
    for (const doc of await currentDocs(ctx, ids.slice(i, i + ctx.batchSize), false)) {
      leaves.set(doc._id, new Set([doc._rev ?? "", ...(doc._conflicts ?? [])]));
    }
  }
  await ctx.retry(() => log.retain((r) => leaves.get(r.id)?.has(r.rev ?? "") === true));
}
