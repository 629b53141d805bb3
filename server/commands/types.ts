/**
 * `divan types`: TypeScript document types generated from the versioned schemas (`--check`: stale or not).
 *
 * `divan types --schemas DIR --out FILE [--check] [--config FILE]`: generates TypeScript document types from the
 * versioned schemas; with `--check`, exits 1 when FILE differs from what would be generated (stale).
 * `--schemas` and `--out` default to `schemas` and `types` of the app's `divan.config.*`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, relative, sep } from "node:path";
import type { Command } from "commander";
import { generateTypes } from "../../schemas/codegen.js";
import { loadRegistry } from "../../schemas/load.js";
import { DivanError } from "../../core/errors.js";
import { commandConfig, configOption, displayPath } from "../config.js";

/** Options of {@link typesCommand}. */
export interface TypesOptions {
  /** Folder of `<type>/<major>.<minor>.json` files. */
  schemas: string;
  /** The TypeScript file to write or check. */
  out: string;
  /** Only compare; do not write. */
  check?: boolean;
}

/** What {@link typesCommand} did: `written`, `unchanged` (check passed or nothing to write) or `stale` (check failed). */
export type TypesOutcome = "written" | "unchanged" | "stale";

/** The generated source for `schemas`, with a header naming the schemas folder relative to `out`. */
export async function renderTypes(schemas: string, out: string): Promise<string> {
  const registry = await loadRegistry(schemas);
  let source = relative(dirname(out), schemas).split(sep).join("/");
  if (!source.startsWith(".")) source = `./${source}`;
  return generateTypes(registry, { source, command: "divan types --schemas <dir> --out <file>" });
}

async function readOrEmpty(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Generates (or checks) the types file. Pure of process state: the CLI maps the outcome to an exit code. */
export async function typesCommand(options: TypesOptions): Promise<TypesOutcome> {
  const generated = await renderTypes(options.schemas, options.out);
  const current = await readOrEmpty(options.out);
  if (current === generated) return "unchanged";
  if (options.check) return "stale";
  await writeFile(options.out, generated, "utf8");
  return "written";
}

/** Registers `divan types`. */
export function register(program: Command): void {
  configOption(
    program
      .command("types")
      .description("Generate TypeScript types (one interface per type and major) from the versioned schemas")
      .option("--schemas <dir>", "folder of <type>/<major>.<minor>.json schema files (default: schemas of the config, else schemas)")
      .option("--out <file>", "TypeScript file to write (default: types of the config)")
      .option("--check", "exit 1 if the file is stale instead of writing it"),
  ).action(async (opts: { check?: boolean }, cmd: Command) => {
    const config = await commandConfig(cmd, { out: "types" });
    if (config.types === undefined) {
      throw new DivanError("CONFIG_INVALID", `give --out FILE (or "types" in ${config.file ?? "divan.config.ts"})`, { details: { field: "types" } });
    }
    const out = config.types;
    const outcome = await typesCommand({ schemas: config.schemas, out, ...(opts.check === undefined ? {} : { check: opts.check }) });
    if (outcome === "stale") {
      process.stderr.write(`${displayPath(out)} is stale: the schemas in ${displayPath(config.schemas)} changed. Run: divan types --schemas ${displayPath(config.schemas)} --out ${displayPath(out)}\n`);
      process.exitCode = 1;
    } else {
      process.stdout.write(outcome === "written" ? `wrote ${displayPath(out)}\n` : `${displayPath(out)} is up to date\n`);
    }
  });
}
