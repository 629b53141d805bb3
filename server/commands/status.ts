/**
 * `divan status`: documents per type@version and every migration job recorded on a database.
 *
 * `divan status --db URL [--id JOB | --to <target>] [--state-db URL] [--steps MODULE] [--config FILE]`: documents per
 * type@version, and every migration job recorded on the database (`_local/divan-jobs`: the jobs that wrote it, in
 * place or as a copy): id, direction, target, phase, totals, lease and quarantine. `--id` (or `--to`, which names
 * every job to that target: a migration, a rollback, a copy) lists the whole quarantine of the jobs it names; otherwise
 * each job shows its first records. Exits 1 when a job has quarantined documents (they are still where they were),
 * 0 otherwise, 2 when it cannot run (e.g. `NOT_FOUND`).
 *
 * Modular: a section is a function in {@link STATUS_SECTIONS}; other features (transformers) add theirs.
 */
import type { Command } from "commander";
import { redact, stripCredentials } from "../../core/redact.js";
import type { DocumentStore } from "../../store/port.js";
import { quarantineCount, readCheckpoint, readJobs, readLease, readQuarantine, type JobEntry } from "../../strategies/runner/local.js";
import { shapeKey } from "../../adapters/types.js";
import { commandConfig, configOption, loadConfiguredRegistry } from "../config.js";
import { closeAll, formatRecord, loadSteps, openDb, openStateDb, requireDb, resolveTarget, showShape } from "./migrate.js";
import { transformerStatusSection } from "../transformer/status-section.js";
import type { StatusContext, StatusSection } from "../status-section.js";

export type { StatusContext, StatusSection } from "../status-section.js";

/** Quarantine records shown per job when no job is selected. */
const RECORDS_PER_JOB = 10;

/** Documents per type@version (`(design)`, `(no type)`, `type@(no version)`; deleted ones are not listed by `_all_docs`). */
export async function countByTypeVersion(store: DocumentStore, typeField = "schema", versionField = "version"): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let startkey: string | undefined;
  for (;;) {
    const page = await store.allDocs({ includeDocs: true, limit: 1000, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
    for (const r of page.rows) {
      const d = r.doc;
      if (d === undefined || d === null) continue;
      const type = d[typeField];
      const version = d[versionField];
      const key = d._id.startsWith("_design/")
        ? "(design)"
        : typeof type !== "string"
          ? "(no type)"
          : `${type}@${version === undefined ? "(no version)" : typeof version === "number" ? String(version) : JSON.stringify(version)}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    const last = page.rows[page.rows.length - 1];
    if (page.rows.length < 1000 || last === undefined) break;
    startkey = last.id;
  }
  return counts;
}

/** The lines of one job. */
async function jobLines(ctx: StatusContext, job: JobEntry, database: string): Promise<string[]> {
  const { store, now } = ctx;
  const lines = [`${job.direction === "down" ? "rollback" : "migration"} ${job.id}: to ${showShape(job.to)}${job.source === undefined ? " in place" : `, copied from database ${job.source}`}`];
  const cp = await readCheckpoint(store, job.id);
  if (cp === undefined) lines.push("  no checkpoint (started, never saved: run it again)");
  else {
    const t = cp.totals;
    lines.push(
      `  phase ${cp.phase}${cp.lastKey === undefined ? "" : `, last key ${cp.lastKey}`}, updated ${new Date(cp.updatedAt).toISOString()}`,
      `  read ${t.read}, written ${t.written}, migrated ${t.migrated}, copied ${t.copied}, skipped ${t.skipped}, quarantined ${t.quarantined}, conflict leaves ${t.conflicts ?? 0}`,
    );
  }
  const lease = ctx.state === undefined ? undefined : await readLease(ctx.state, database);
  if (lease === undefined || (lease.job !== undefined && lease.job !== job.id)) lines.push("  lease: free");
  else lines.push(`  lease: held by ${lease.owner} ${lease.expiresAt > now ? `until ${new Date(lease.expiresAt).toISOString()}` : "(expired: the runner died; the next run takes over)"}`);
  const full = ctx.selected.includes(job.id);
  const count = await quarantineCount(store, job.id);
  lines.push(`  quarantine: ${count} document(s)${count > 0 ? " left where they were (a run of the job tries them again)" : ""}`);
  if (count > 0) {
    const records = await readQuarantine(store, job.id);
    const shown = full ? records : records.slice(0, RECORDS_PER_JOB);
    for (const r of shown) lines.push(`    ${formatRecord(r)}`);
    if (shown.length < records.length) lines.push(`    … and ${records.length - shown.length} more (divan status --id ${job.id})`);
  }
  return lines;
}

/** The sections, in order. */
export const STATUS_SECTIONS: StatusSection[] = [
  async ({ store, typeField, versionField }) => {
    const counts = await countByTypeVersion(store, typeField, versionField);
    const keys = Object.keys(counts).sort();
    return [`documents of ${store.name}:`, ...(keys.length === 0 ? ["  (none)"] : keys.map((k) => `  ${k}: ${counts[k]}`))];
  },
  async (ctx) => {
    const jobs = await readJobs(ctx.store);
    const listed = ctx.selected.length === 0 ? jobs : jobs.filter((j) => ctx.selected.includes(j.id));
    if (listed.length === 0) {
      return ctx.selected.length === 0 ? ["no migration job has run on this database"] : [`no job ${ctx.selected.join(" or ")} has run on this database (jobs here: ${jobs.map((j) => j.id).join(", ") || "none"})`];
    }
    const database = (await ctx.store.info()).name;
    const lines: string[] = [];
    for (const job of listed) lines.push(...(await jobLines(ctx, job, database)));
    return lines;
  },
  transformerStatusSection,
];

/** Registers `divan status`. */
export function register(program: Command): void {
  configOption(
    program
      .command("status")
      .description("Documents per type@version, and every migration job on the database: progress, lease and quarantine")
      .option("--db <url>", "database URL or local PouchDB name (default: db of the config)")
      .option("--id <job>", "list the whole quarantine of this job")
      .option("--to <version>", "the same for the migration and the rollback to this target (manifest version or type@major,...)")
      .option("--state-db <url>", "database of divan's own holding the lease (default: <db>$divan, or stateDb of the config)")
      .option("--schemas <dir>", "folder of schema files (to resolve --to)", "schemas")
      .option("--manifests <dir>", "folder of manifests", "manifests")
      .option("--steps <module>", "module exporting the steps (to complete a type@major --to, as migrate does)", "steps/index.ts"),
  ).action(async (opts: { to?: string; id?: string }, cmd: Command) => {
    const config = await commandConfig(cmd);
    const db = requireDb(config);
    const stores: (DocumentStore | undefined)[] = [];
    try {
      const store = await openDb(db);
      stores.push(store);
      const state = await openStateDb(config, db, false);
      stores.push(state);
      const jobs = await readJobs(store);
      const selected: string[] = opts.id === undefined ? [] : [opts.id];
      if (opts.to !== undefined) {
        const graph = opts.to.includes("@") ? await loadSteps(config.steps) : undefined;
        const to = shapeKey(await resolveTarget(opts.to, await loadConfiguredRegistry(config), config.manifests, graph));
        selected.push(...jobs.filter((j) => shapeKey(j.to) === to).map((j) => j.id));
        if (selected.length === 0) selected.push(`(to ${to})`);
      }
      const ctx: StatusContext = { store, selected, now: Date.now(), typeField: config.typeField, versionField: config.versionField, ...(state === undefined ? {} : { state }) };
      const out: string[] = [`status of ${stripCredentials(db)}`];
      for (const section of STATUS_SECTIONS) out.push(...(await section(ctx)));
      process.stdout.write(redact(out.join("\n") + "\n"));
      for (const job of jobs) if ((await quarantineCount(store, job.id)) > 0) process.exitCode = 1;
    } finally {
      await closeAll(stores);
    }
  });
}
