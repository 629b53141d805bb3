/**
 * `divan check`: schemas compile, minors are non-breaking, majors have steps, and the steps keep the lens laws.
 *
 * `divan check [--schemas DIR] [--manifests DIR] [--steps MODULE] [--runs N] [--seed N] [--config FILE]`: every
 * schema compiles; every minor version is non-breaking against the previous one of its major (exit 1
 * otherwise); every major bump is reported with its breaking reasons, and a "no step" warning unless the
 * steps module has a step for it; manifests resolve and print the compatibility matrix. With steps, every
 * step and every path between manifest versions is executed on documents generated from the schemas
 * (`adapters/laws.ts`): a step at a version without schema, an attribute a step reads that its schema does
 * not have, an output that does not validate or a round trip that loses something fails the check (exit 1),
 * naming the step, the input and the attribute. Folders and module come from the config
 * (`divan.config.*`), and are skipped when they do not exist.
 */
import { stat } from "node:fs/promises";
import type { Command } from "commander";
import { createStepGraph } from "../../adapters/path.js";
import { checkSteps } from "../../adapters/laws.js";
import type { StepDefinition } from "../../adapters/steps.js";
import type { Shape } from "../../adapters/types.js";
import { DivanError, messageOf } from "../../core/errors.js";
import { createAjv } from "../../schemas/ajv.js";
import { classifyChange } from "../../schemas/classify.js";
import type { Classification } from "../../schemas/classify.js";
import { loadManifests, loadSchemaFiles } from "../../schemas/load.js";
import { compatibilityMatrix, formatMatrix, resolveManifest } from "../../schemas/manifest.js";
import { createRegistry } from "../../schemas/registry.js";
import type { Registry, SchemaFile } from "../../schemas/registry.js";
import { commandConfig, configOption } from "../config.js";
import { loadStepDefinitions, positiveInt } from "./migrate.js";

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
  /** The steps and paths executed on generated documents, with the inputs per direction. */
  executed: { what: string; runs: number }[];
  /** The seed of the generated documents, when steps were executed. */
  seed?: number;
}

/** Options of {@link checkSchemas}. */
export interface CheckOptions {
  /** Folder of schema files. */
  schemas: string;
  /** Folder of app manifests (optional). */
  manifests?: string;
  /** The app's steps (none: every major bump is reported as a warning, nothing is executed). */
  steps?: readonly StepDefinition[];
  /** Generated documents per direction of each step and path (default 100). */
  runs?: number;
  /** Seed of the generated documents (default random; printed with failures). */
  seed?: number;
  /** Field holding the document type (default `schema`). */
  typeField?: string;
  /** Field holding the major version (default `version`). */
  versionField?: string;
}

function label(f: SchemaFile): string {
  return `${f.type} ${f.major}.${f.minor}`;
}

/** Runs every check and returns the report (no output, no exit code). */
export async function checkSchemas(options: CheckOptions): Promise<CheckReport> {
  const files = await loadSchemaFiles(options.schemas);
  const report: CheckReport = { pairs: [], errors: [], warnings: [], executed: [] };
  for (const f of files) {
    try {
      createAjv().compile(f.schema as object);
    } catch (e) {
      report.errors.push(`${f.type}/${f.major}.${f.minor}.json does not compile: ${messageOf(e)}`);
    }
  }
  const steps = options.steps ?? [];
  const hasStep = (type: string, from: number, to: number): boolean =>
    steps.some((s) => (s.from[type] === from && s.to[type] === to) || (s.from[type] === to && s.to[type] === from));
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
        if (!hasStep(type, prev.major, next.major)) report.warnings.push(`${type} ${prev.major} → ${next.major}: no step registered`);
        if (classification.verdict === "non-breaking") report.warnings.push(`${label(prev)} → ${label(next)} is non-breaking; a minor version (${prev.major}.${prev.minor + 1}) would do.`);
      }
    }
  }
  let registry: Registry | undefined;
  try {
    registry = createRegistry(files, { ...(options.typeField ? { typeField: options.typeField } : {}), ...(options.versionField ? { versionField: options.versionField } : {}) });
  } catch {
    // a schema that does not compile is reported above
  }
  const shapes: Shape[] = [];
  if (options.manifests !== undefined && registry !== undefined) {
    try {
      const manifests = await loadManifests(options.manifests);
      report.matrix = formatMatrix(compatibilityMatrix(manifests, registry));
      for (const m of manifests) shapes.push(resolveManifest(m, registry));
    } catch (e) {
      report.errors.push(messageOf(e));
    }
  }
  if (steps.length > 0 && registry !== undefined) {
    try {
      const graph = createStepGraph(steps, { typeField: registry.typeField, versionField: registry.versionField });
      const r = checkSteps({ graph, registry, shapes, ...(options.runs === undefined ? {} : { runs: options.runs }), ...(options.seed === undefined ? {} : { seed: options.seed }) });
      report.errors.push(...r.errors);
      report.executed = r.checked;
      report.seed = r.seed;
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
  if (report.executed.length > 0) lines.push("");
  for (const x of report.executed) lines.push(`executed ${x.what} on ${x.runs} generated document(s) each way`);
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
      .description("Check the schemas and steps: minors must be non-breaking, majors need a step, every step and path between manifests is run on generated documents; print the compatibility matrix")
      .option("--schemas <dir>", "folder of <type>/<major>.<minor>.json schema files (default: schemas)")
      .option("--manifests <dir>", "folder of app manifests (<app-version>.json) (default: manifests, when it exists)")
      .option("--steps <module>", "module exporting the steps, executed on generated documents (default: steps/index.ts, when it exists)")
      .option("--runs <n>", "generated documents per direction of every step and path", positiveInt, 100)
      .option("--seed <n>", "seed of the generated documents (printed with every failure)", seedOption),
  ).action(async (opts: { runs: number; seed?: number }, cmd: Command) => {
    const config = await commandConfig(cmd);
    // Defaults are used when they exist; a folder or module named by the config or the command line must exist.
    const manifests = config.given.includes("manifests") ? config.manifests : await existing(config.manifests);
    const stepsFile = config.given.includes("steps") ? config.steps : await existing(config.steps);
    const report = await checkSchemas({
      schemas: config.schemas,
      ...(manifests === undefined ? {} : { manifests }),
      ...(stepsFile === undefined ? {} : { steps: await loadStepDefinitions(stepsFile) }),
      runs: opts.runs,
      ...(opts.seed === undefined ? {} : { seed: opts.seed }),
      typeField: config.typeField,
      versionField: config.versionField,
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

/** Parses `--seed` (an integer). */
function seedOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new DivanError("CONFIG_INVALID", `--seed: expected an integer, got "${value}"`);
  return n;
}
