/**
 * The transformer section of `divan status --db URL`: its checkpoint and what it quarantined.
 *
 * The transformer section of `divan status --db URL`: the transformer checkpoint of that database
 * (`_local/divan-transformer`: the sequence it resumes from, changes still pending) and the documents of
 * its sides it quarantined: those it could not translate (kept in the checkpoint) and those whose
 * translation a target refused (`strategies/transformer/quarantine.ts`). Lag and last error live in the
 * running service: `GET /_divan/status`.
 */
import type { StatusSection } from "../status-section.js";
import { readTransformerQuarantine } from "../../strategies/transformer/quarantine.js";

/** `_local` id of the transformer checkpoint (the default `checkpointId` of the core). */
export const TRANSFORMER_CHECKPOINT = "_local/divan-transformer";

/** Records listed at most (the count covers them all). */
const SHOWN = 20;

/** Lines about the transformer checkpoint of `store` (none when no transformer ever ran on it). */
export const transformerStatusSection: StatusSection = async ({ store }) => {
  const doc = await store.getLocal(TRANSFORMER_CHECKPOINT);
  if (doc === undefined || doc["v"] !== 1) return [];
  const since = typeof doc["since"] === "string" ? doc["since"] : undefined;
  const page = await store.changes(since === undefined ? {} : { since });
  type Row = { id?: unknown; rev?: unknown; type?: unknown; version?: unknown; code?: unknown; reason?: unknown; side?: unknown };
  const failed = Array.isArray(doc["quarantine"]) ? (doc["quarantine"] as Row[]) : [];
  const quarantine: Row[] = [...failed, ...(await readTransformerQuarantine(store, TRANSFORMER_CHECKPOINT))];
  const line = (q: Row): string => {
    const code = typeof q.code === "string" ? `${q.code}: ` : "";
    // As `divan migrate` shows a record: a version that is no number (a string, an object) as JSON, not "[object Object]".
    const version = q.version === undefined ? "(no version)" : JSON.stringify(q.version);
    const where = typeof q.type === "string" ? ` (${q.type}@${version}${typeof q.side === "string" ? `, side ${q.side}` : ""})` : "";
    return `    ${String(q.id)}@${String(q.rev)}: ${code}${String(q.reason)}${where}`;
  };
  return [
    "transformer:",
    `  checkpoint: ${since ?? "(start)"}`,
    `  pending changes: ${page.results.filter((c) => !c.id.startsWith("_")).length} (some may be its own writes)`,
    `  quarantined: ${quarantine.length}`,
    ...quarantine.slice(0, SHOWN).map(line),
    ...(quarantine.length > SHOWN ? [`    … and ${quarantine.length - SHOWN} more`] : []),
  ];
};
