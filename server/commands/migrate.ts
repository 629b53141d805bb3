/**
 * `divan migrate` (eager migration of a database, in place or into a copy), and what `rollback` and `status` share.
 *
 * `divan migrate --db URL --to <manifest version|type@major,...> [--target URL] [--dry-run] [--verify] [--restart]
 * [--no-validate] [--state-db URL] [--concurrency N] [--batch-size N] [--schemas DIR] [--manifests DIR]
 * [--steps MODULE] [--config FILE]`, and what `divan rollback` and `divan status` share with it.
 *
 * `--db`, `--schemas`, `--manifests`, `--steps`, `--state-db` and the type/version field names come from the
 * app's `divan.config.*` when not given (`server/config.ts`).
 *
 * Runs the eager runner (`strategies/runner`) on the database: in place, or copied into `--target` (a new or
 * empty database, or divan's earlier copy of the same source). `--to task@3` is completed from the steps to
 * the family's shape (`task@3, task-state@1`). Takes the lease in the state database (`<db>$divan`),
 * resumes from the job's checkpoint, validates every translation against its target schema before writing it,
 * shows a cli-progress bar on a TTY (one line per 10% otherwise), prints the totals and what was quarantined,
 * and exits 0 when everything is migrated and valid, 1 when a document is quarantined (now or, still where it
 * was, by an earlier run) or `--verify` found an invalid one, 2 when it could not run.
 *
 * `--follow` (the `amended` strategy, in place): after the run, follows `_changes` and, after each change,
 * runs `amendLateWrites` and one more (incremental) pass, until SIGINT/SIGTERM. `--switch offline|online` (with
 * `--target`: `transactional`, `transactional-online`): `copyAndSwitch` locks the source before the copy, or after
 * a first copy and before a second, then the copy is verified.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { SingleBar, Presets } from "cli-progress";
import type { Command } from "commander";
import { createStepGraph, type StepGraph } from "../../adapters/path.js";
import type { Shape } from "../../adapters/types.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import { redact, stripCredentials } from "../../core/redact.js";
import { loadManifests } from "../../schemas/load.js";
import { resolveManifest } from "../../schemas/manifest.js";
import type { Registry, RegistryOptions } from "../../schemas/registry.js";
import { splitDatabaseUrl } from "../../store/http.js";
import { isHttpUrl, openStore } from "../../store/open.js";
import type { DocumentStore } from "../../store/port.js";
import { NodePouchDB, pouchDefaults } from "../../store/pouchdb-node.js";
import { amendLateWrites } from "../../strategies/amended/index.js";
import { copyAndSwitch } from "../../strategies/transactional/index.js";
import { migrateCopiedConflicts } from "../../strategies/transactional/device.js";
import { createMigration, type Migration } from "../../strategies/runner/runner.js";
import type { MigrationReport, QuarantineRecord } from "../../strategies/runner/types.js";
import { verifyStore, type VerifyReport } from "../../strategies/runner/verify.js";
import { interruptions, reportStopped } from "./interrupt.js";
import { commandConfig, configOption, loadConfiguredRegistry, loadStepDefinitions, type ResolvedConfig } from "../config.js";

export { loadStepDefinitions } from "../config.js";

/** The registry options of a configuration (field names and infer rules). */
export function registryOptions(config: ResolvedConfig): RegistryOptions {
  return { typeField: config.typeField, versionField: config.versionField, infer: [...config.infer] };
}

/** Options every migration command shares. */
export interface MigrationCliOptions {
  /** The database (`--db`, else the config's `db`). */
  db?: string;
  /** Required by every command but `rollback --target`. */
  to?: string;
  target?: string;
  /** Command-line value only; the merged one is in the {@link ResolvedConfig}. */
  schemas?: string;
  /** Command-line value only; the merged one is in the {@link ResolvedConfig}. */
  manifests?: string;
  /** Command-line value only; the merged one is in the {@link ResolvedConfig}. */
  steps?: string;
  batchSize: number;
  concurrency: number;
  /** `--restart`. */
  restart?: boolean;
  /** `--lease-owner NAME`. */
  leaseOwner?: string;
  /** `--no-validate` sets it false. */
  validate: boolean;
  /** `--config FILE`. */
  config?: string;
}

/**
 * A target shape from `--to`: a manifest version (`6.0.0`, resolved with the registry) or a list of
 * `type@major` (`task@3,task-state@1`). With the step `graph`, a `type@major` list is completed
 * to the whole shape of its entity family (`task@3` → `task@3, task-state@1`), see
 * {@link completeTarget}.
 */
export async function resolveTarget(to: string, registry: Registry, manifestsDir: string, graph?: StepGraph): Promise<Shape> {
  if (to.includes("@")) {
    const shape: Shape = {};
    for (const part of to.split(",").map((p) => p.trim()).filter((p) => p.length > 0)) {
      const m = /^([^@\s]+)@(\d+)$/.exec(part);
      if (m === null) throw new DivanError("CONFIG_INVALID", `--to: "${part}" is not type@major (e.g. task@3)`);
      const [type, major] = [m[1]!, Number(m[2])];
      // A type the schemas know at other majors only is a typo, not a target (an unknown type passes: divan ignores it).
      if (registry.majors(type).length > 0 && !registry.has(type, major)) {
        throw new DivanError("CONFIG_INVALID", `--to: no schema ${type}@${major} (known majors of ${type}: ${registry.majors(type).join(", ")})`);
      }
      shape[type] = major;
    }
    return graph === undefined ? shape : completeTarget(shape, graph);
  }
  const manifests = await loadManifests(manifestsDir);
  const manifest = manifests.find((m) => m.version === to);
  if (manifest === undefined) {
    throw new DivanError("CONFIG_INVALID", `--to: no manifest ${to} in ${manifestsDir} (known: ${manifests.map((m) => m.version).join(", ")}); give a manifest version or type@major`);
  }
  return resolveManifest(manifest, registry);
}

/**
 * Completes a `type@major` target to the shapes the steps know: `task@3` alone is no shape of the
 * task family (its v3 is `task@3` + `task-state@1`), so a run to it would find no path. Every
 * `type@major` of `to` that is part of exactly one step shape consistent with `to` gets that shape's other
 * types added; a target that already contains a whole shape, or names types no step knows, is kept as is.
 *
 * @throws DivanError `CONFIG_INVALID` when `to` contradicts every step shape containing one of its entries,
 * or several shapes would complete it differently.
 */
export function completeTarget(to: Shape, graph: StepGraph): Shape {
  const shapes = graph.shapes();
  const out: Shape = { ...to };
  const show = (s: Shape): string => Object.entries(s).map(([t, v]) => `${t}@${v}`).join(" + ");
  for (const [type, version] of Object.entries(to)) {
    const containing = shapes.filter((s) => s[type] === version);
    if (containing.length === 0) continue;
    const consistent = containing.filter((s) => Object.entries(s).every(([t, v]) => to[t] === undefined || to[t] === v));
    if (consistent.length === 0) {
      throw new DivanError("CONFIG_INVALID", `--to: ${show(to)} contradicts every shape with ${type}@${version} the steps know (${containing.map(show).join(", ")})`);
    }
    if (consistent.some((s) => Object.keys(s).every((t) => to[t] !== undefined))) continue;
    const distinct = [...new Map(consistent.map((s) => [show(s), s])).values()];
    if (distinct.length > 1) {
      throw new DivanError("CONFIG_INVALID", `--to: ${type}@${version} is part of several shapes (${distinct.map(show).join(", ")}); name the whole shape, e.g. --to ${show(distinct[0]!).replace(/ \+ /g, ",")}`);
    }
    for (const [t, v] of Object.entries(distinct[0]!)) out[t] = v;
  }
  return out;
}

/** Loads the steps module (`--steps`) as a step graph ({@link loadStepDefinitions}). */
export async function loadSteps(file: string): Promise<StepGraph> {
  return createStepGraph(await loadStepDefinitions(file));
}

/**
 * The database of a command: `--db`, else `db` of the config.
 *
 * @throws DivanError `CONFIG_INVALID` when neither names one.
 */
export function requireDb(config: ResolvedConfig): string {
  if (config.db === undefined) throw new DivanError("CONFIG_INVALID", `give --db URL (or "db" in ${config.file === undefined ? "divan.config.ts" : config.file})`, { details: { field: "db" } });
  return config.db;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * Opens the database of a URL or local PouchDB name (a LevelDB folder relative to the working directory). Unless
 * `create`, the database must exist.
 *
 * @throws DivanError `CONFIG_INVALID` for a URL that is not http(s); `NOT_FOUND` for a database that does not
 * exist (and is not to be created).
 */
export async function openDb(urlOrName: string, create = false): Promise<DocumentStore> {
  const scheme = SCHEME.exec(urlOrName)?.[1];
  if (scheme !== undefined && !isHttpUrl(urlOrName)) {
    throw new DivanError("CONFIG_INVALID", `${redact(urlOrName)} is no database: give an http(s):// URL or the name of a local PouchDB database (not ${scheme}://)`);
  }
  if (!create && !isHttpUrl(urlOrName) && !existsSync(path.resolve(urlOrName))) {
    throw new DivanError("NOT_FOUND", `there is no local database ${urlOrName} (no folder ${path.resolve(urlOrName)}); check --db (a CouchDB database is an http(s):// URL)`, { details: { db: urlOrName } });
  }
  const store = await openStore(urlOrName, { PouchDB: NodePouchDB, create });
  try {
    await store.info();
  } catch (e) {
    await store.close();
    if (isDivanError(e, "NOT_FOUND")) {
      throw new DivanError("NOT_FOUND", `database ${redact(urlOrName)} does not exist: check the URL (this command does not create it)`, { cause: e, details: { db: redact(urlOrName) } });
    }
    throw e;
  }
  return store;
}

/**
 * The `--target` of a dry run, which must create nothing: the database when it exists, else an empty in-memory one
 * standing for the new database the run would create.
 */
async function dryRunTarget(urlOrName: string): Promise<DocumentStore> {
  try {
    return await openDb(urlOrName);
  } catch (e) {
    if (!isDivanError(e, "NOT_FOUND")) throw e;
    return openStore(`divan-dry-run-${Date.now().toString(36)}`, { PouchDB: pouchDefaults({ adapter: "memory" }) });
  }
}

/** The default state database of `urlOrName`: `<db>$divan` on the same server (or next to a local database). */
export function defaultStateDb(urlOrName: string): string {
  if (!isHttpUrl(urlOrName)) return `${urlOrName}$divan`;
  const { serverUrl, dbName } = splitDatabaseUrl(urlOrName);
  return `${serverUrl.replace(/\/$/, "")}/${encodeURIComponent(`${dbName}$divan`)}`;
}

/**
 * The state database holding the lease on the database `written` (the config's `stateDb`, else
 * {@link defaultStateDb}), created when missing unless `create` is false (then `undefined` when there is none).
 */
export async function openStateDb(config: ResolvedConfig, written: string, create = true): Promise<DocumentStore | undefined> {
  const url = config.stateDb ?? defaultStateDb(written);
  if (create) return openStore(url, { PouchDB: NodePouchDB, create: true });
  try {
    return await openDb(url);
  } catch (e) {
    if (isDivanError(e, "NOT_FOUND")) return undefined;
    throw e;
  }
}

/**
 * Adds the options every migration command shares (`--db`, `--schemas`, `--manifests` and `--steps` default to the
 * config's). `target` describes `--target`; `--to` is required unless `toRequired` is false (the command checks it).
 */
export function migrationOptions(cmd: Command, { toRequired = true, target = "copy into this database instead of migrating in place" }: { toRequired?: boolean; target?: string } = {}): Command {
  const to = "target: a manifest version (6.0.0) or type@major,... (task@3,task-state@1)";
  const withDb = configOption(cmd).option("--db <url>", "database URL (http://host:5984/db, credentials as user:password@host; never printed) or local PouchDB name (default: db of the config)");
  return (toRequired ? withDb.requiredOption("--to <version>", to) : withDb.option("--to <version>", to))
    .option("--target <url>", target)
    .option("--schemas <dir>", "folder of <type>/<major>.<minor>.json schema files", "schemas")
    .option("--manifests <dir>", "folder of <app-version>.json manifests", "manifests")
    .option("--steps <module>", "module exporting the steps", "steps/index.ts")
    .option("--state-db <url>", "database of divan's own holding the lease (default: <db>$divan next to the database written, or stateDb of the config)")
    .option("--lease-owner <name>", "who holds the lease (default: one name per run); a run killed while holding it can be resumed at once with its owner, which divan status shows")
    .option("--batch-size <n>", "documents per page and per _bulk_docs", positiveInt, 500)
    .option("--concurrency <n>", "pages in flight", positiveInt, 2)
    .option("--restart", "ignore the job's checkpoint and scan everything again")
    .option("--no-validate", "write translations that fail their target schema (default: quarantine them, leaving the original where it was)");
}

/** Parses a positive integer option. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new DivanError("CONFIG_INVALID", `expected a positive integer, got "${value}"`);
  return n;
}

/** Quarantine records printed by a run (the rest are counted; `divan status --id` lists them all). */
const PRINTED_RECORDS = 50;

/** One quarantine record as a line. */
export function formatRecord(q: QuarantineRecord): string {
  return `${q.id}${q.rev ? ` (rev ${q.rev})` : ""} ${q.type ?? "(no type)"}@${q.version === undefined ? "(no version)" : JSON.stringify(q.version)}: [${q.code}] ${q.reason}`;
}

/** The report as terminal text (URL passwords redacted: reasons may quote a store's URL). */
export function formatReport(report: MigrationReport, verified?: VerifyReport): string {
  const t = report.totals;
  const lines = [
    `${report.dryRun ? "dry run: " : ""}${report.completed ? "done" : "stopped"}${report.resumed ? " (resumed from checkpoint)" : ""} in ${report.elapsedMs} ms`,
    `  read ${t.read}, written ${t.written}${report.dryRun ? " (would be)" : ""}, failed ${t.failed}`,
    `  migrated ${t.migrated}, copied ${t.copied}, skipped ${t.skipped}, quarantined ${t.quarantined}, conflict leaves ${t.conflicts}, changed meanwhile ${t.changed}, dirty rounds ${report.dirtyRounds}`,
  ];
  for (const q of report.quarantined.slice(0, PRINTED_RECORDS)) lines.push(`quarantined ${formatRecord(q)}`);
  if (report.quarantined.length > PRINTED_RECORDS) lines.push(`… and ${report.quarantined.length - PRINTED_RECORDS} more quarantined (divan status --id ${report.id} lists them)`);
  const now = new Set(report.quarantined.map((q) => `${q.id}@${q.rev ?? ""}`));
  const earlier = report.outstanding.filter((q) => !now.has(`${q.id}@${q.rev ?? ""}`)).length;
  if (earlier > 0) lines.push(`${earlier} document(s) quarantined by earlier runs of this job are still where they were (divan status --id ${report.id})`);
  if (verified !== undefined) {
    lines.push(`verify: ${verified.checked} checked, ${verified.invalid.length} invalid`);
    for (const i of verified.invalid) lines.push(`  invalid ${i.id} ${i.type}@${String(i.version)}: ${i.reason}`);
  }
  return redact(lines.join("\n") + "\n");
}

/**
 * The exit code of a migration command (README "Documented rules"): 0 when everything was migrated and is valid,
 * 1 when a document is quarantined (by this run or, still where it was, by an earlier one) or invalid.
 */
export function exitCodeOf(report: MigrationReport, verified?: VerifyReport): 0 | 1 {
  return report.outstanding.length > 0 || (verified?.invalid.length ?? 0) > 0 ? 1 : 0;
}

/** Runs a migration with the CLI's progress output: a cli-progress bar on a TTY, one line per 10% otherwise. */
export async function runWithProgress(m: Migration, header: string): Promise<MigrationReport> {
  let bar: SingleBar | undefined;
  let lastTenth = -1;
  m.on("progress", (p) => {
    if (process.stdout.isTTY) {
      if (bar === undefined) {
        bar = new SingleBar({ format: "migrating [{bar}] {value}/{total} docs | {rate} docs/s | ETA {eta}s" }, Presets.shades_classic);
        bar.start(p.total, 0, { rate: 0 });
      }
      bar.setTotal(p.total);
      bar.update(p.done, { rate: Math.round(p.rate) });
    } else {
      const tenth = Math.floor((10 * p.done) / Math.max(1, p.total));
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        process.stdout.write(`progress ${p.done}/${p.total} (${p.phase})\n`);
      }
    }
  });
  m.on("error", (e) => process.stderr.write(`${e.willRetry ? "retrying" : "failed"} (attempt ${e.attempt}): ${redact(e.error.message)}\n`));
  process.stdout.write(`${redact(header)} (job ${m.id})\n`);
  try {
    return await m.run();
  } finally {
    bar?.stop(); // also when the run fails, so the error is not printed into the bar's line
  }
}

/**
 * The line a copy prints about the source's design documents, which it does not copy (README "What `--target`
 * copies"), or nothing when there are none: the new database lacks the app's views and validation until a team copies
 * the ones the new app needs.
 */
async function designDocumentsLeft(source: DocumentStore, target: string): Promise<string> {
  const ids: string[] = [];
  let startkey: string | undefined;
  for (;;) {
    const page = await source.allDocs({ startkey: startkey ?? "_design/", endkey: "_design0", limit: 100, ...(startkey === undefined ? {} : { skip: 1 }) });
    ids.push(...page.rows.map((r) => r.id).filter((id) => id !== "_design/divan-maintenance"));
    const last = page.rows[page.rows.length - 1];
    if (page.rows.length < 100 || last === undefined) break;
    startkey = last.id;
  }
  if (ids.length === 0) return "";
  return `not copied: ${ids.length} design document(s) (${ids.slice(0, 10).join(", ")}${ids.length > 10 ? ", …" : ""}); copy the ones the new app needs into ${stripCredentials(target)}\n`;
}

/** Closes stores, in order, whatever happens. */
export async function closeAll(stores: readonly (DocumentStore | undefined)[]): Promise<void> {
  for (const s of stores) await s?.close();
}

/** `type@major, …` of a shape. */
export function showShape(shape: Shape): string {
  return Object.entries(shape)
    .map(([t, v]) => `${t}@${v}`)
    .join(", ");
}

/** `--switch`: lock before copying (`offline`, transactional) or after a first copy (`online`, transactional-online). */
type SwitchMode = "offline" | "online";

function parseSwitch(value: string): SwitchMode {
  if (value !== "offline" && value !== "online") throw new DivanError("CONFIG_INVALID", `--switch must be offline or online, got "${value}"`, { details: { option: "switch" } });
  return value;
}

/** A `_changes` feed that wakes the follow loop of `divan migrate --follow`. */
interface ChangeFollower {
  /** Resolves at the next change (at once if one came since the last call), or when stopped. */
  next(): Promise<void>;
  readonly stopped: boolean;
  /** From now on, SIGINT and SIGTERM stop following (before, they end the process as in any run). */
  stopOnSignals(): void;
  stop(): Promise<void>;
}

/** Follows `_changes` of `store` from now on, until {@link ChangeFollower.stop} (or a signal, once asked to). */
async function followChanges(store: DocumentStore): Promise<ChangeFollower> {
  const { lastSeq } = await store.changes({ since: "now", limit: 1 });
  let pending = false;
  let stopped = false;
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const feed = store.liveChanges(
    { since: lastSeq },
    {
      onChange: () => {
        pending = true;
        signal();
      },
      onError: (e) => {
        failure = e;
        stopped = true;
        signal();
      },
    },
  );
  const stop = (): void => {
    stopped = true;
    process.removeListener("SIGINT", stop);
    process.removeListener("SIGTERM", stop);
    signal();
  };
  return {
    stopOnSignals() {
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    },
    get stopped() {
      return stopped;
    },
    async next() {
      if (!pending && !stopped) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      pending = false;
      const failed = failure as Error | undefined; // set by the feed's callback
      if (failed !== undefined) throw new DivanError("STORE_UNAVAILABLE", `following _changes failed: ${redact(failed.message)}`, { cause: failed });
    },
    async stop() {
      stop();
      await feed.stop();
    },
  };
}

/**
 * The follow loop of `divan migrate --follow`: after every change, one pass (`pass`), a line for each pass that
 * wrote or quarantined something, until stopped. Returns the exit code of the last pass (see {@link exitCodeOf}).
 */
async function follow(follower: ChangeFollower, first: MigrationReport, pass: () => Promise<{ written: number; report: MigrationReport }>): Promise<0 | 1> {
  let code: 0 | 1 = 0;
  // Each quarantined revision is printed once (by the first run or the pass that quarantined it), until it changes.
  const printed = new Set(first.outstanding.map((q) => `${q.id}@${q.rev ?? ""}`));
  follower.stopOnSignals();
  process.stdout.write("following _changes: migrating old-version documents as they arrive (Ctrl-C or SIGTERM stops)\n");
  for (;;) {
    await follower.next();
    if (follower.stopped) break;
    const { written, report } = await pass();
    code = exitCodeOf(report);
    const fresh = report.quarantined.filter((q) => !printed.has(`${q.id}@${q.rev ?? ""}`));
    for (const q of fresh) printed.add(`${q.id}@${q.rev ?? ""}`);
    if (written > 0 || fresh.length > 0) {
      process.stdout.write(`follow: migrated ${report.totals.migrated}, written ${written}, quarantined ${fresh.length}\n`);
      for (const q of fresh.slice(0, PRINTED_RECORDS)) process.stdout.write(redact(`quarantined ${formatRecord(q)}\n`));
    }
  }
  process.stdout.write("follow: stopped\n");
  return code;
}

/** Registers `divan migrate`. */
export function register(program: Command): void {
  migrationOptions(program.command("migrate").description("Migrate every document of a database to a target version (resumes from its checkpoint)"))
    .option("--dry-run", "report what would change, write nothing")
    .option("--verify", "also check the whole database written at the end: every document of a target type at its version and valid")
    .option(
      "--follow",
      "after migrating, keep following _changes and migrate old-version documents as they arrive (late deletions win, old edits that conflict with a migrated revision are merged), until SIGINT/SIGTERM: the amended strategy; in place only",
    )
    .option(
      "--switch <mode>",
      "copy into --target and switch apps to it, leaving --db read-only (a maintenance design document refuses writes): offline locks --db first and then copies (transactional, a maintenance window); online copies while apps write, then locks and copies what changed meanwhile (transactional-online); both verify the copy",
      parseSwitch,
    )
    .action(async (opts: MigrationCliOptions & { dryRun?: boolean; verify?: boolean; follow?: boolean; switch?: SwitchMode }, cmd: Command) => {
      const config = await commandConfig(cmd);
      const db = requireDb(config);
      if (opts.follow === true && (opts.target !== undefined || opts.dryRun === true)) {
        throw new DivanError("CONFIG_INVALID", `--follow migrates in place as documents arrive: it cannot be combined with ${opts.target !== undefined ? "--target" : "--dry-run"}`, { details: { option: "follow" } });
      }
      if (opts.switch !== undefined && (opts.target === undefined || opts.dryRun === true || opts.follow === true)) {
        throw new DivanError("CONFIG_INVALID", opts.target === undefined ? "--switch copies into a new database: give --target URL" : `--switch cannot be combined with ${opts.dryRun === true ? "--dry-run" : "--follow"}`, { details: { option: "switch" } });
      }
      const registry = await loadConfiguredRegistry(config);
      const graph = await loadSteps(config.steps);
      const to = await resolveTarget(opts.to!, registry, config.manifests, graph); // required by commander
      const dry = opts.dryRun === true;
      const stores: (DocumentStore | undefined)[] = [];
      try {
        const source = await openDb(db);
        stores.push(source);
        const target = opts.target === undefined ? undefined : dry ? await dryRunTarget(opts.target) : await openDb(opts.target, true);
        stores.push(target);
        const state = dry ? undefined : await openStateDb(config, opts.target ?? db);
        stores.push(state);
        // Ctrl-C stops the run between pages; not a --switch (its lock and verification are one step) nor --follow's passes.
        const interrupted = opts.switch === undefined && !dry ? interruptions() : undefined;
        const migration = (restart: boolean, retryQuarantined = true, signal?: AbortSignal): Migration =>
          createMigration({
            retryQuarantined,
            ...(signal === undefined ? {} : { signal }),
            source,
            ...(target === undefined ? {} : { target }),
            plan: { graph, to },
            batchSize: opts.batchSize,
            concurrency: opts.concurrency,
            dryRun: dry,
            restart,
            typeField: config.typeField,
            versionField: config.versionField,
            ...(opts.follow === true ? { recordBases: true } : {}), // a late deletion is told from a user's conflict (strategies/deletes.ts)
            lease: state === undefined ? false : { store: state, ...(opts.leaseOwner === undefined ? {} : { owner: opts.leaseOwner }) },
            ...(opts.validate ? { verify: registry } : {}),
          });
        // Following starts before the first run, so what arrives during it wakes the first follow-up pass.
        const follower = opts.follow === true ? await followChanges(source) : undefined;
        const header = `migrating ${stripCredentials(db)}${opts.target ? ` into ${stripCredentials(opts.target)}` : " in place"} to ${showShape(to)}`;
        if (opts.switch !== undefined && target !== undefined && opts.target !== undefined) {
          const reports: MigrationReport[] = [];
          const switched = await copyAndSwitch(source, {
            online: opts.switch === "online",
            message: `this database moved to ${stripCredentials(opts.target)}; update the app`,
            copy: async () => {
              const r = await runWithProgress(migration(opts.restart === true && reports.length === 0), header);
              reports.push(r);
              return r.totals.written;
            },
          });
          // Old apps' concurrent edits the copy carried in conflict are translated edit by edit, as the strategy does:
          // the users' conflict is then at the new version, and no longer outstanding.
          // A conflict whose leaves do not translate (a step's error, or not valid at the target) is left as the copy
          // carried it: its quarantine record gives the leaf's own reason.
          const resolved = dry
            ? { resolved: [], refused: [] }
            : await migrateCopiedConflicts(target, graph, to, { ...(opts.validate ? { verify: registry } : {}), typeField: config.typeField, versionField: config.versionField });
          const translated = new Set(resolved.resolved);
          const refused = new Set(resolved.refused.map((q) => q.id));
          const carried = (q: QuarantineRecord): boolean => !(q.code === "CONFLICT" && (translated.has(q.id) || refused.has(q.id)));
          const last = reports[reports.length - 1]!;
          const quarantined = [...last.quarantined.filter(carried), ...resolved.refused];
          const report: MigrationReport = {
            ...last,
            totals: { ...last.totals, quarantined: last.totals.quarantined - last.quarantined.length + quarantined.length },
            quarantined,
            outstanding: [...last.outstanding.filter(carried), ...resolved.refused],
          };
          if (translated.size > 0) process.stdout.write(`conflicts: ${translated.size} document(s) the copy carried in conflict now hold each user's edit at the new version\n`);
          const verified = await verifyStore(target, registry, to, { exclude: new Set(report.outstanding.map((q) => q.id)) });
          process.stdout.write(formatReport(report, verified));
          process.stdout.write(await designDocumentsLeft(source, opts.target));
          process.stdout.write(
            redact(`switch (${opts.switch}): ${stripCredentials(db)} refuses writes since the lock (${switched.downtimeMs} ms until the copy was complete); ${switched.written} document(s) written; apps switch to ${stripCredentials(opts.target)}\n`),
          );
          process.exitCode = exitCodeOf(report, verified);
          return;
        }
        try {
          const report = await runWithProgress(migration(opts.restart === true, true, interrupted?.signal), header);
          interrupted?.dispose();
          if (reportStopped(report, interrupted, formatReport)) return;
          // Quarantined documents stay where they were, at their old version: verify skips them.
          const verified = opts.verify === true && !dry ? await verifyStore(target ?? source, registry, to, { exclude: new Set(report.outstanding.map((q) => q.id)) }) : undefined;
          process.stdout.write(formatReport(report, verified));
          if (opts.target !== undefined) process.stdout.write(await designDocumentsLeft(source, opts.target));
          process.exitCode = exitCodeOf(report, verified);
          if (follower !== undefined) {
            process.exitCode = await follow(follower, report, async () => {
              const amended = await amendLateWrites(source, { graph, to, shapes: graph.shapes(), typeField: config.typeField, versionField: config.versionField, ...(opts.validate ? { verify: registry } : {}) });
              const pass = await migration(false, false).run();
              return { written: pass.totals.written + amended, report: pass };
            });
          }
        } finally {
          interrupted?.dispose();
          await follower?.stop();
        }
      } finally {
        await closeAll(stores);
      }
    });
}
