/**
 * The transformer section of `divan status --db URL`: the transformer checkpoint of that database
 * (`_local/divan-transformer`: the sequence it resumes from, changes still pending, quarantined
 * documents). Lag and last error live in the running service: `GET /_divan/status`.
 */
import type { StatusSection } from "../commands/status.js";

/** `_local` id of the transformer checkpoint (the default `checkpointId` of the core). */
export const TRANSFORMER_CHECKPOINT = "_local/divan-transformer";

/** Lines about the transformer checkpoint of `store` (none when no transformer ever ran on it). */
export const transformerStatusSection: StatusSection = async ({ store }) => {
  const doc = await store.getLocal(TRANSFORMER_CHECKPOINT);
  if (doc === undefined || doc["v"] !== 1) return [];
  const since = typeof doc["since"] === "string" ? doc["since"] : undefined;
  const page = await store.changes(since === undefined ? {} : { since });
  const quarantine = Array.isArray(doc["quarantine"]) ? (doc["quarantine"] as { id?: unknown; rev?: unknown; reason?: unknown }[]) : [];
  return [
    "transformer:",
    `  checkpoint: ${since ?? "(start)"}`,
    `  pending changes: ${page.results.filter((c) => !c.id.startsWith("_")).length} (some may be its own writes)`,
    `  quarantined: ${quarantine.length}`,
    ...quarantine.slice(0, 20).map((q) => `    ${String(q.id)}@${String(q.rev)}: ${String(q.reason)}`),
  ];
};
