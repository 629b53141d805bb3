/**
 * `divan status --db URL [--to <target>] [--id JOB] [--target URL] [--steps MODULE] [--config FILE]`: documents per type@version,
 * and for a migration job (named by `--id`, or the default id of `--to`): its checkpoint (phase,
 * last key, totals), lease (owner, expiry) and quarantine records.
 *
 * Modular: a section is a function in {@link STATUS_SECTIONS}; other features (transformers) add theirs.
 */
import type { Command } from "commander";
import { redact, stripCredentials } from "../../core/redact.js";
import { loadRegistry } from "../../schemas/load.js";
import type { DocumentStore } from "../../store/port.js";
import { readCheckpoint, readLease, readQuarantine } from "../../strategies/runner/local.js";
import { defaultMigrationId } from "../../strategies/runner/runner.js";
import { commandConfig, configOption } from "../config.js";
import { loadSteps, openDb, registryOptions, requireDb, resolveTarget } from "./migrate.js";
import { transformerStatusSection } from "../transformer/status-section.js";

/** What a status section gets. */
export interface StatusContext {
  /** The database asked about. */
  readonly store: DocumentStore;
  /** The migration job id, when one was named (`--id` or derived from `--to`). */
  readonly jobId?: string;
  /** Where the job's checkpoint and lease live (the `--target`, else the database). */
  readonly jobStore: DocumentStore;
  /** The current time (ms). */
  readonly now: number;
  /** Field holding the document type (default `schema`). */
  readonly typeField?: string;
  /** Field holding the major version (default `version`). */
  readonly versionField?: string;
}

/** One section of `divan status`: returns its lines. */
export type StatusSection = (ctx: StatusContext) => Promise<string[]>;

/** Documents per type@version (design documents apart, deleted ones not listed by `_all_docs`). */
export async function countByTypeVersion(store: DocumentStore, typeField = "schema", versionField = "version"): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let startkey: string | undefined;
  for (;;) {
    const page = await store.allDocs({ includeDocs: true, limit: 1000, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
    for (const r of page.rows) {
      const d = r.doc;
      if (d === undefined || d === null) continue;
      const key = d._id.startsWith("_design/") ? "(design)" : typeof d[typeField] === "string" ? `${String(d[typeField])}@${String(d[versionField])}` : "(no type)";
      counts[key] = (counts[key] ?? 0) + 1;
    }
    const last = page.rows[page.rows.length - 1];
    if (page.rows.length < 1000 || last === undefined) break;
    startkey = last.id;
  }
  return counts;
}

/** The sections, in order. */
export const STATUS_SECTIONS: StatusSection[] = [
  async ({ store, typeField, versionField }) => {
    const counts = await countByTypeVersion(store, typeField, versionField);
    const keys = Object.keys(counts).sort();
    return [`documents of ${store.name}:`, ...(keys.length === 0 ? ["  (none)"] : keys.map((k) => `  ${k}: ${counts[k]}`))];
  },
  async ({ store, jobStore, jobId, now }) => {
    if (jobId === undefined) return [];
    const lines = [`migration ${jobId}:`];
    const cp = await readCheckpoint(jobStore, jobId);
    if (cp === undefined) lines.push("  no checkpoint (never run here)");
    else {
      const t = cp.totals;
      lines.push(
        `  phase ${cp.phase}${cp.lastKey === undefined ? "" : `, last key ${cp.lastKey}`}, updated ${new Date(cp.updatedAt).toISOString()}`,
        `  read ${t.read}, written ${t.written}, migrated ${t.migrated}, copied ${t.copied}, skipped ${t.skipped}, quarantined ${t.quarantined}, conflicts ${t.conflicts}`,
      );
    }
    const lease = await readLease(jobStore, jobId);
    if (lease === undefined) lines.push("  lease: free");
    else lines.push(`  lease: held by ${lease.owner} ${lease.expiresAt > now ? `until ${new Date(lease.expiresAt).toISOString()}` : "(expired: the runner died; the next run takes over)"}`);
    const q = await readQuarantine(store, jobId);
    lines.push(`  quarantine: ${q.length} document(s)`);
    for (const r of q) lines.push(`    ${r.id}${r.rev ? ` (rev ${r.rev})` : ""} ${r.type ?? "?"}@${String(r.version ?? "?")}: [${r.code}] ${r.reason}`);
    return lines;
  },
  transformerStatusSection,
];

/** Registers `divan status`. */
export function register(program: Command): void {
  configOption(
    program
      .command("status")
      .description("Documents per type@version, and a migration job's progress, lease and quarantine")
      .option("--db <url>", "database URL or local PouchDB name (default: db of the config)")
      .option("--to <version>", "the job's target (manifest version or type@major,...) to find its checkpoint")
      .option("--id <job>", "the job id (instead of --to)")
      .option("--target <url>", "the job copies into this database (its checkpoint and lease live there)")
      .option("--schemas <dir>", "folder of schema files (to resolve a manifest --to)", "schemas")
      .option("--manifests <dir>", "folder of manifests", "manifests")
      .option("--steps <module>", "module exporting the steps (to complete a type@major --to, as migrate does)", "steps/index.ts"),
  ).action(async (opts: { to?: string; id?: string; target?: string }, cmd: Command) => {
    const config = await commandConfig(cmd);
    const db = requireDb(config);
    const store = await openDb(db);
    const target = opts.target === undefined ? undefined : await openDb(opts.target);
    try {
      let jobId = opts.id;
      if (jobId === undefined && opts.to !== undefined) {
        const graph = opts.to.includes("@") ? await loadSteps(config.steps) : undefined;
        const to = await resolveTarget(opts.to, await loadRegistry(config.schemas, registryOptions(config)), config.manifests, graph);
        jobId = defaultMigrationId(to, store, target !== undefined);
      }
      const ctx: StatusContext = { store, jobStore: target ?? store, now: Date.now(), typeField: config.typeField, versionField: config.versionField, ...(jobId === undefined ? {} : { jobId }) };
      const out: string[] = [`status of ${stripCredentials(db)}`];
      for (const section of STATUS_SECTIONS) out.push(...(await section(ctx)));
      process.stdout.write(redact(out.join("\n") + "\n"));
    } finally {
      await store.close();
      await target?.close();
    }
  });
}
