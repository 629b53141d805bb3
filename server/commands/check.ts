/**
 * `divan check [--schemas DIR] [--manifests DIR] [--steps MODULE] [--config FILE]`: every schema compiles; every
 * minor version is non-breaking against the previous one of its major (exit 1 otherwise); every major bump is
 * reported with its breaking reasons, and a "no step" warning unless the steps module has a step for it;
 * manifests resolve and print the compatibility matrix. Folders and module come from the config
 * (`divan.config.*`), and are skipped when they do not exist.
 */
import { stat } from "node:fs/promises";
import type { Command } from "commander";
import { messageOf } from "../../core/errors.js";
import { createAjv } from "../../schemas/ajv.js";
import { classifyChange } from "../../schemas/classify.js";
import type { Classification } from "../../schemas/classify.js";
import { loadManifests, loadSchemaFiles } from "../../schemas/load.js";
import { compatibilityMatrix, formatMatrix } from "../../schemas/manifest.js";
import { createRegistry } from "../../schemas/registry.js";
import type { SchemaFile } from "../../schemas/registry.js";
import { commandConfig, configOption } from "../config.js";
import { loadStepDefinitions } from "./migrate.js";

/** One compared pair of consecutive schema versions of a type. */
export interface CheckedPair {
  type: string;
  from: { major: number; minor: number };
  to: { major: number; minor: number };
  /** True when the pair crosses a major version. */
  majorBump: boolean;
  classification: Classification;
}

/** What `divan check` found. */
export interface CheckReport {
  pairs: CheckedPair[];
  /** Problems that make the check fail (exit 1). */
  errors: string[];
  /** Things to look at that do not fail the check. */
  warnings: string[];
  /** The compatibility matrix as Markdown, when manifests were given. */
  matrix?: string;
}

/** Options of {@link checkSchemas}. */
export interface CheckOptions {
  /** Folder of schema files. */
  schemas: string;
  /** Folder of app manifests (optional). */
  manifests?: string;
  /**
   * Whether a step translates `type` between majors `from` and `from + 1`. Until steps are wired in,
   * the default answers "no", which is reported as a warning.
   */
  hasStep?: (type: string, from: number, to: number) => boolean;
}

function label(f: SchemaFile): string {
  return `${f.type} ${f.major}.${f.minor}`;
}

/** Runs every check and returns the report (no output, no exit code). */
export async function checkSchemas(options: CheckOptions): Promise<CheckReport> {
  const files = await loadSchemaFiles(options.schemas);
  const report: CheckReport = { pairs: [], errors: [], warnings: [] };
  for (const f of files) {
    try {
      createAjv().compile(f.schema as object);
    } catch (e) {
      report.errors.push(`${f.type}/${f.major}.${f.minor}.json does not compile: ${messageOf(e)}`);
    }
  }
  const byType = new Map<string, SchemaFile[]>();
  for (const f of files) byType.set(f.type, [...(byType.get(f.type) ?? []), f]);
  for (const [type, list] of byType) {
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const next = list[i]!;
      const majorBump = prev.major !== next.major;
      const classification = classifyChange(prev.schema, next.schema);
      report.pairs.push({ type, from: { major: prev.major, minor: prev.minor }, to: { major: next.major, minor: next.minor }, majorBump, classification });
      if (!majorBump && classification.verdict === "breaking") {
        report.errors.push(
          `${label(prev)} → ${label(next)} is a minor version but breaking: ${classification.breaking.map((c) => c.message).join("; ")}. Make it ${next.major + 1}.0 (with a step) or make the change non-breaking.`,
        );
      }
      if (majorBump) {
        if (next.major !== prev.major + 1) report.warnings.push(`${type}: major ${next.major} follows ${prev.major}; majors ${prev.major + 1}..${next.major - 1} are missing.`);
        if (!(options.hasStep?.(type, prev.major, next.major) ?? false)) report.warnings.push(`${type} ${prev.major} → ${next.major}: no step registered`);
        if (classification.verdict === "non-breaking") report.warnings.push(`${label(prev)} → ${label(next)} is non-breaking; a minor version (${prev.major}.${prev.minor + 1}) would do.`);
      }
    }
  }
  if (options.manifests !== undefined) {
    try {
      const registry = createRegistry(files);
      const manifests = await loadManifests(options.manifests);
      report.matrix = formatMatrix(compatibilityMatrix(manifests, registry));
    } catch (e) {
      report.errors.push(messageOf(e));
    }
  }
  return report;
}

/** The report as text lines for the terminal. */
export function formatCheckReport(report: CheckReport): string {
  const lines: string[] = [];
  for (const p of report.pairs) {
    const head = `${p.type} ${p.from.major}.${p.from.minor} → ${p.to.major}.${p.to.minor}: ${p.classification.verdict}${p.majorBump ? " (major)" : ""}`;
    lines.push(head);
    for (const c of p.classification.breaking) lines.push(`  breaking  ${c.kind}: ${c.message}`);
    for (const c of p.classification.nonBreaking) lines.push(`  ok        ${c.kind}: ${c.message}`);
  }
  if (report.matrix !== undefined) lines.push("", report.matrix);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  for (const e of report.errors) lines.push(`error: ${e}`);
  lines.push(report.errors.length ? `check failed: ${report.errors.length} error(s)` : "check passed");
  return lines.join("\n") + "\n";
}

/** Registers `divan check`. */
export function register(program: Command): void {
  configOption(
    program
      .command("check")
      .description("Check the versioned schemas: minors must be non-breaking, majors need a step; print the compatibility matrix")
      .option("--schemas <dir>", "folder of <type>/<major>.<minor>.json schema files (default: schemas)")
      .option("--manifests <dir>", "folder of app manifests (<app-version>.json) (default: manifests, when it exists)")
      .option("--steps <module>", "module exporting the steps, to know which major bumps have one (default: steps/index.ts, when it exists)"),
  ).action(async (_opts: unknown, cmd: Command) => {
    const config = await commandConfig(cmd);
    // Defaults are used when they exist; a folder or module named by the config or the command line must exist.
    const manifests = config.given.includes("manifests") ? config.manifests : await existing(config.manifests);
    const stepsFile = config.given.includes("steps") ? config.steps : await existing(config.steps);
    const report = await checkSchemas({
      schemas: config.schemas,
      ...(manifests === undefined ? {} : { manifests }),
      ...(stepsFile === undefined ? {} : { hasStep: await stepLookup(stepsFile) }),
    });
    process.stdout.write(formatCheckReport(report));
    if (report.errors.length) process.exitCode = 1;
  });
}

/** `p` when it exists, else `undefined` (an app without manifests or steps yet is still checked). */
async function existing(p: string): Promise<string | undefined> {
  try {
    await stat(p);
    return p;
  } catch {
    return undefined;
  }
}

/** Answers {@link CheckOptions.hasStep} from the steps module: a step (either direction) between the two majors of the type. */
async function stepLookup(file: string): Promise<(type: string, from: number, to: number) => boolean> {
  const steps = await loadStepDefinitions(file);
  return (type, from, to) =>
    steps.some((s) => (s.from[type] === from && s.to[type] === to) || (s.from[type] === to && s.to[type] === from));
}
