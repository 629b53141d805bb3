/**
 * `divan migrate --db URL --to <manifest version|type@major,...> [--target URL] [--dry-run] [--verify]
 * [--concurrency N] [--batch-size N] [--schemas DIR] [--manifests DIR] [--steps MODULE] [--config FILE]`
 *
 * `--db`, `--schemas`, `--manifests`, `--steps` and the type/version field names come from the app's
 * `divan.config.*` when not given (`server/config.ts`).
 *
 * Runs the eager runner (`strategies/runner`) on the database: in place, or copied into `--target`.
 * `--to todo-item@3` is completed from the steps to the family's shape (`todo-item@3, todo-item-status@1`).
 * Resumes automatically from the run's checkpoint. Shows a cli-progress bar on a TTY (one line per
 * 10% otherwise), prints the totals and every quarantined document, and exits 1 when a document was
 * quarantined or `--verify` found an invalid one.
 */
import { SingleBar, Presets } from "cli-progress";
import type { Command } from "commander";
import { createStepGraph, type StepGraph } from "../../adapters/path.js";
import { isDeclarativeStep, type StepDefinition } from "../../adapters/steps.js";
import type { Shape } from "../../adapters/types.js";
import { DivanError, messageOf } from "../../core/errors.js";
import { redact, stripCredentials } from "../../core/redact.js";
import { loadManifests, loadRegistry } from "../../schemas/load.js";
import { resolveManifest } from "../../schemas/manifest.js";
import type { Registry, RegistryOptions } from "../../schemas/registry.js";
import { openStore } from "../../store/open.js";
import type { DocumentStore } from "../../store/port.js";
import { NodePouchDB } from "../../store/pouchdb-node.js";
import { readQuarantine } from "../../strategies/runner/local.js";
import { createMigration } from "../../strategies/runner/runner.js";
import type { MigrationReport } from "../../strategies/runner/types.js";
import { verifyStore, type VerifyReport } from "../../strategies/runner/verify.js";
import { commandConfig, configOption, importModule, type ResolvedConfig } from "../config.js";

/** The registry options of a configuration (field names and infer rules). */
export function registryOptions(config: ResolvedConfig): RegistryOptions {
  return { typeField: config.typeField, versionField: config.versionField, infer: [...config.infer] };
}

/** Options every migration command shares. */
export interface MigrationCliOptions {
  /** The database (`--db`, else the config's `db`). */
  db?: string;
  to: string;
  target?: string;
  /** Command-line value only; the merged one is in the {@link ResolvedConfig}. */
  schemas?: string;
  /** Command-line value only; the merged one is in the {@link ResolvedConfig}. */
  manifests?: string;
  /** Command-line value only; the merged one is in the {@link ResolvedConfig}. */
  steps?: string;
  batchSize: number;
  concurrency: number;
  /** `--config FILE`. */
  config?: string;
}

/**
 * A target shape from `--to`: a manifest version (`3.0.0`, resolved with the registry) or a list of
 * `type@major` (`todo-item@3,todo-item-status@1`). With the step `graph`, a `type@major` list is completed
 * to the whole shape of its entity family (`todo-item@3` → `todo-item@3, todo-item-status@1`), see
 * {@link completeTarget}.
 */
export async function resolveTarget(to: string, registry: Registry, manifestsDir: string, graph?: StepGraph): Promise<Shape> {
  if (to.includes("@")) {
    const shape: Shape = {};
    for (const part of to.split(",").map((p) => p.trim()).filter((p) => p.length > 0)) {
      const m = /^([^@\s]+)@(\d+)$/.exec(part);
      if (m === null) throw new DivanError("CONFIG_INVALID", `--to: "${part}" is not type@major (e.g. todo-item@3)`);
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
 * Completes a `type@major` target to the shapes the steps know: `todo-item@3` alone is no shape of the
 * todo family (its v3 is `todo-item@3` + `todo-item-status@1`), so a run to it would find no path. Every
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

/**
 * Every step the steps module (`--steps`) exports: each exported step, and each exported array of steps
 * (a TypeScript module is imported through tsx when divan runs on plain Node).
 *
 * @throws DivanError `CONFIG_INVALID` when the module cannot be imported or exports no steps.
 */
export async function loadStepDefinitions(file: string): Promise<StepDefinition[]> {
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(file);
  } catch (e) {
    throw new DivanError("CONFIG_INVALID", `cannot import the steps module ${file}: ${messageOf(e)}`, { cause: e, details: { file, field: "steps" } });
  }
  const steps: StepDefinition[] = [];
  const isStep = (v: unknown): v is StepDefinition =>
    typeof v === "object" && v !== null && "from" in v && "to" in v && (isDeclarativeStep(v as StepDefinition) || "up" in v);
  for (const value of Object.values(mod)) {
    if (Array.isArray(value) && value.every(isStep)) steps.push(...value);
    else if (isStep(value)) steps.push(value);
  }
  const unique = [...new Set(steps)];
  if (unique.length === 0) throw new DivanError("CONFIG_INVALID", `--steps ${file} exports no steps (export an array of steps, or steps)`, { details: { file, field: "steps" } });
  return unique;
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

/** Opens the database of a URL or local PouchDB name. */
export function openDb(urlOrName: string, create = false): Promise<DocumentStore> {
  return openStore(urlOrName, { PouchDB: NodePouchDB, create });
}

/** Adds the options every migration command shares (`--db`, `--schemas`, `--manifests` and `--steps` default to the config's). */
export function migrationOptions(cmd: Command): Command {
  return configOption(cmd)
    .option("--db <url>", "database URL (http://user:pass@host:5984/db) or local PouchDB name (default: db of the config)")
    .requiredOption("--to <version>", "target: a manifest version (3.0.0) or type@major,... (todo-item@3,todo-item-status@1)")
    .option("--target <url>", "copy into this database instead of migrating in place")
    .option("--schemas <dir>", "folder of <type>/<major>.<minor>.json schema files", "schemas")
    .option("--manifests <dir>", "folder of <app-version>.json manifests", "manifests")
    .option("--steps <module>", "module exporting the steps", "steps/index.ts")
    .option("--batch-size <n>", "documents per page and per _bulk_docs", positiveInt, 500)
    .option("--concurrency <n>", "pages in flight", positiveInt, 2);
}

/** Parses a positive integer option. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new DivanError("CONFIG_INVALID", `expected a positive integer, got "${value}"`);
  return n;
}

/** The report as terminal text (URL passwords redacted: reasons may quote a store's URL). */
export function formatReport(report: MigrationReport, verified?: VerifyReport): string {
  const t = report.totals;
  const lines = [
    `${report.dryRun ? "dry run: " : ""}${report.completed ? "done" : "stopped"}${report.resumed ? " (resumed from checkpoint)" : ""} in ${report.elapsedMs} ms`,
    `  read ${t.read}, written ${t.written}${report.dryRun ? " (would be)" : ""}, failed ${t.failed}`,
    `  migrated ${t.migrated}, copied ${t.copied}, skipped ${t.skipped}, quarantined ${t.quarantined}, conflicts ${t.conflicts}, dirty rounds ${report.dirtyRounds}`,
  ];
  for (const q of report.quarantined) lines.push(`quarantined ${q.id}${q.rev ? ` (rev ${q.rev})` : ""} ${q.type ?? "?"}@${String(q.version ?? "?")}: [${q.code}] ${q.reason}`);
  if (verified !== undefined) {
    lines.push(`verify: ${verified.checked} checked, ${verified.invalid.length} invalid`);
    for (const i of verified.invalid) lines.push(`  invalid ${i.id} ${i.type}@${String(i.version)}: ${i.reason}`);
  }
  return redact(lines.join("\n") + "\n");
}

/** Registers `divan migrate`. */
export function register(program: Command): void {
  migrationOptions(program.command("migrate").description("Migrate every document of a database to a target version (resumes from its checkpoint)"))
    .option("--dry-run", "report what would change, write nothing")
    .option("--verify", "validate every written document, and the whole target at the end")
    .option("--restart", "ignore the checkpoint and scan everything again")
    .action(async (opts: MigrationCliOptions & { dryRun?: boolean; verify?: boolean; restart?: boolean }, cmd: Command) => {
      const config = await commandConfig(cmd);
      const db = requireDb(config);
      const registry = await loadRegistry(config.schemas, registryOptions(config));
      const graph = await loadSteps(config.steps);
      const to = await resolveTarget(opts.to, registry, config.manifests, graph);
      const source = await openDb(db);
      const target = opts.target === undefined ? undefined : await openDb(opts.target, true);
      try {
        const m = createMigration({
          source,
          ...(target === undefined ? {} : { target }),
          plan: { graph, to },
          batchSize: opts.batchSize,
          concurrency: opts.concurrency,
          dryRun: opts.dryRun === true,
          restart: opts.restart === true,
          typeField: config.typeField,
          versionField: config.versionField,
          ...(opts.verify === true ? { verify: registry } : {}),
        });
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
        process.stdout.write(`migrating ${stripCredentials(db)}${opts.target ? ` into ${stripCredentials(opts.target)}` : " in place"} to ${Object.entries(to).map(([t, v]) => `${t}@${v}`).join(", ")} (job ${m.id})\n`);
        let report: MigrationReport;
        try {
          report = await m.run();
        } finally {
          bar?.stop(); // also when the run fails, so the error is not printed into the bar's line
        }
        // Quarantined documents stay where they were, at their old version: verify skips every one the job
        // ever quarantined (a rerun quarantines nothing new but the earlier ones are still there).
        const quarantine = report.dryRun ? report.quarantined : await readQuarantine(source, m.id);
        const verified = opts.verify === true && !report.dryRun ? await verifyStore(target ?? source, registry, to, { exclude: new Set(quarantine.map((q) => q.id)) }) : undefined;
        process.stdout.write(formatReport(report, verified));
        const now = new Set(report.quarantined.map((q) => `${q.id}@${q.rev ?? ""}`));
        const earlier = quarantine.filter((q) => !now.has(`${q.id}@${q.rev ?? ""}`)).length;
        if (earlier > 0) process.stdout.write(`${earlier} document(s) quarantined by earlier runs of this job are still where they were (divan status --id ${m.id})\n`);
        if (report.totals.quarantined > 0 || (verified?.invalid.length ?? 0) > 0) process.exitCode = 1;
      } finally {
        await source.close();
        await target?.close();
      }
    });
}
