/**
 * An app's divan configuration: `divan.config.ts` (or `.mts`, `.js`, `.mjs`, `.json`) in the
 * app's root names where its schemas, manifests and steps are, the document field names and the database.
 *
 * ```ts
 * // divan.config.ts
 * import { defineConfig } from "divan/server";
 * export default defineConfig({ schemas: "schemas", manifests: "manifests", steps: "steps/index.ts", types: "types.ts" });
 * ```
 *
 * Paths in a config file are relative to the file. The CLI finds the file in the working directory (or
 * takes `--config FILE`) and merges: command-line options over config values over {@link CONFIG_DEFAULTS}.
 * The library takes the same configuration as a plain object ({@link resolveConfig}).
 *
 * A TypeScript config (and a TypeScript steps module) is imported as it is when divan runs under tsx, and
 * through tsx's `tsImport` API when it runs on plain Node (the built `dist/` CLI).
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "commander";
import { isDeclarativeStep, type StepDefinition } from "../adapters/steps.js";
import { DivanError, messageOf } from "../core/errors.js";
import { importPeer } from "../core/peer.js";
import { loadRegistry } from "../schemas/load.js";
import type { InferRule, Registry } from "../schemas/registry.js";

/** What an app writes in `divan.config.*` (or passes to the library). Every field is optional. */
export interface DivanConfig {
  /** Folder of `<type>/<major>.<minor>.json` schema files. Default `"schemas"`. */
  schemas?: string;
  /** Folder of `<app-version>.json` manifests. Default `"manifests"`. */
  manifests?: string;
  /** Module exporting the steps (an array of steps, or steps). Default `"steps/index.ts"`. */
  steps?: string;
  /** The TypeScript file `divan types` writes (and checks with `--check`). No default. */
  types?: string;
  /** Database URL (`http://user:pass@host:5984/db`) or local PouchDB name, used when `--db` is not given. */
  db?: string;
  /**
   * The database holding divan's leases (URL or local PouchDB name). Default: `<db>$divan` next to the database a
   * command writes, created when first needed. No device replicates it.
   */
  stateDb?: string;
  /** Field holding the document type. Default `"schema"`. */
  typeField?: string;
  /** Field holding the major version. Default `"version"`. */
  versionField?: string;
  /** Rules giving unversioned documents a type and version, tried in order (functions only in `.ts`/`.js` configs). */
  infer?: InferRule[];
  /** JSON config of the replication transformers, for `divan serve` when `--transform` is not given. */
  transform?: string;
}

/** The merged configuration every command uses: paths absolute, defaults applied. */
export interface ResolvedConfig {
  /** The config file used, if any. */
  readonly file?: string;
  /** Absolute folder of schema files. */
  readonly schemas: string;
  /** Absolute folder of manifests. */
  readonly manifests: string;
  /** Absolute path of the steps module. */
  readonly steps: string;
  /** Absolute path of the generated types file, when configured. */
  readonly types?: string;
  /** Database URL or local PouchDB name, when configured. */
  readonly db?: string;
  /** The state database, when configured (else `<db>$divan`). */
  readonly stateDb?: string;
  /** Field holding the document type. */
  readonly typeField: string;
  /** Field holding the major version. */
  readonly versionField: string;
  /** Infer rules (empty when none). */
  readonly infer: readonly InferRule[];
  /** Absolute path of the transformers' JSON config, when configured. */
  readonly transform?: string;
  /** The fields set by the config or the command line (the others are defaults or unset). */
  readonly given: readonly (keyof DivanConfig)[];
}

/** Defaults of every field that has one (paths relative to the config file's folder, or the working directory without a file). */
export const CONFIG_DEFAULTS = {
  schemas: "schemas",
  manifests: "manifests",
  steps: "steps/index.ts",
  typeField: "schema",
  versionField: "version",
} as const satisfies DivanConfig;

/** The file names looked for in the working directory, in this order (at most one may exist). */
export const CONFIG_FILES = ["divan.config.ts", "divan.config.mts", "divan.config.js", "divan.config.mjs", "divan.config.json"] as const;

const PATH_FIELDS = ["schemas", "manifests", "steps", "types", "transform"] as const;
const STRING_FIELDS = ["db", "stateDb", "typeField", "versionField"] as const;
const KNOWN_FIELDS: ReadonlySet<string> = new Set<string>([...PATH_FIELDS, ...STRING_FIELDS, "infer"]);

/** Identity helper that types a configuration object (`export default defineConfig({ ... })`). */
export function defineConfig(config: DivanConfig): DivanConfig {
  return config;
}

function invalid(file: string, field: string, why: string): DivanError {
  return new DivanError("CONFIG_INVALID", `${file}: "${field}" ${why}`, { details: { file, field } });
}

/**
 * Checks a configuration value read from `file` (the name is used in messages): an object with only
 * known fields of the right types.
 *
 * @throws DivanError `CONFIG_INVALID` naming the file and the field (`details: { file, field }`).
 */
export function parseConfig(raw: unknown, file: string): DivanConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new DivanError("CONFIG_INVALID", `${file}: the configuration must be an object (export default { ... })`, { details: { file } });
  }
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_FIELDS.has(key)) throw invalid(file, key, `is not a divan setting (known: ${[...KNOWN_FIELDS].join(", ")})`);
  }
  const out: DivanConfig = {};
  for (const key of [...PATH_FIELDS, ...STRING_FIELDS]) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== "string" || v === "") throw invalid(file, key, `must be a non-empty string, got ${JSON.stringify(v) ?? typeof v}`);
    out[key] = v;
  }
  if (o["infer"] !== undefined) {
    const rules = o["infer"];
    if (!Array.isArray(rules)) throw invalid(file, "infer", "must be an array of rules ({ idPrefix, type, version } or functions)");
    out.infer = rules.map((r: unknown, i: number): InferRule => {
      if (typeof r === "function") return r as InferRule;
      const rule = (r ?? {}) as Record<string, unknown>;
      if (typeof rule["idPrefix"] !== "string" || typeof rule["type"] !== "string" || !Number.isInteger(rule["version"])) {
        throw invalid(file, `infer[${i}]`, "must be { idPrefix: string, type: string, version: integer } or a function");
      }
      return { idPrefix: rule["idPrefix"], type: rule["type"], version: rule["version"] as number };
    });
  }
  return out;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw e;
  }
}

/**
 * The config file in `cwd`, if there is one.
 *
 * @throws DivanError `CONFIG_INVALID` when several of {@link CONFIG_FILES} exist (which one wins would be a guess).
 */
export async function findConfigFile(cwd: string): Promise<string | undefined> {
  const found: string[] = [];
  for (const name of CONFIG_FILES) if (await isFile(path.join(cwd, name))) found.push(path.join(cwd, name));
  if (found.length > 1) {
    throw new DivanError("CONFIG_INVALID", `several divan config files in ${cwd}: ${found.map((f) => path.basename(f)).join(", ")}; keep one`, { details: { file: found[0] } });
  }
  return found[0];
}

/**
 * Imports an ES module by path. TypeScript files (`.ts`, `.mts`, `.cts`) are imported directly when a
 * TypeScript loader is active (divan run through tsx), else through `tsx/esm/api`'s `tsImport`.
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path.resolve(file)).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const typescript = /\.[cm]?ts$/.test(file);
    if (!typescript || (e as { code?: unknown }).code !== "ERR_UNKNOWN_FILE_EXTENSION") throw e;
  }
  const { tsImport } = await importPeer("tsx", `importing the TypeScript file ${file} on plain Node`, () => import("tsx/esm/api"));
  return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
}

/**
 * The steps a steps module exports (`--steps`, the `steps` of a config or of a transform config): its `steps` or
 * `default` export when that is an array of steps, else every exported step and every exported array of steps.
 * A TypeScript module is imported through tsx when divan runs on plain Node (the built CLI).
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
  const isStep = (v: unknown): v is StepDefinition =>
    typeof v === "object" && v !== null && "from" in v && "to" in v && (isDeclarativeStep(v as StepDefinition) || "up" in v);
  const isStepArray = (v: unknown): v is StepDefinition[] => Array.isArray(v) && v.length > 0 && v.every(isStep);
  const named = [mod["steps"], mod["default"]].find(isStepArray);
  const steps: StepDefinition[] = [];
  if (named !== undefined) steps.push(...named);
  else {
    for (const value of Object.values(mod)) {
      if (isStepArray(value)) steps.push(...value);
      else if (isStep(value)) steps.push(value);
    }
  }
  const unique = [...new Set(steps)];
  if (unique.length === 0) {
    throw new DivanError("CONFIG_INVALID", `${file} exports no steps (export them as an array named "steps" or as the default export)`, { details: { file, field: "steps" } });
  }
  return unique;
}

/**
 * The registry of the configuration's schemas folder.
 *
 * @throws DivanError `CONFIG_INVALID` naming the folder it looked in when there is none.
 */
export async function loadConfiguredRegistry(config: ResolvedConfig): Promise<Registry> {
  let isDir: boolean;
  try {
    isDir = (await stat(config.schemas)).isDirectory();
  } catch (e) {
    if ((e as { code?: unknown }).code !== "ENOENT") throw e;
    isDir = false;
  }
  if (!isDir) {
    const where = config.file === undefined ? "no divan.config.* in the working directory" : `config ${displayPath(config.file)}`;
    throw new DivanError(
      "CONFIG_INVALID",
      `no schemas folder at ${config.schemas} (${where}): give --schemas DIR, set "schemas" in the config, or point --config at the app's divan.config.ts`,
      { details: { field: "schemas", dir: config.schemas } },
    );
  }
  return loadRegistry(config.schemas, { typeField: config.typeField, versionField: config.versionField, infer: [...config.infer] });
}

/** Reads a config file: JSON, or the default export of a module. */
async function readConfigFile(file: string): Promise<DivanConfig> {
  let raw: unknown;
  if (file.endsWith(".json")) {
    try {
      raw = JSON.parse(await readFile(file, "utf8")) as unknown;
    } catch (e) {
      throw new DivanError("CONFIG_INVALID", `cannot read the divan config ${file}: ${messageOf(e)}`, { cause: e, details: { file } });
    }
  } else {
    let mod: Record<string, unknown>;
    try {
      mod = await importModule(file);
    } catch (e) {
      throw new DivanError("CONFIG_INVALID", `cannot load the divan config ${file}: ${messageOf(e)}`, { cause: e, details: { file } });
    }
    if (!("default" in mod)) throw new DivanError("CONFIG_INVALID", `${file}: export the configuration as the default export`, { details: { file } });
    raw = mod["default"];
  }
  return parseConfig(raw, file);
}

/** Where {@link resolveConfig} resolves relative paths from. */
export interface ResolveOptions {
  /** Folder the config's own paths (and the defaults) are relative to. */
  readonly dir: string;
  /** The config file (kept in the result for messages). */
  readonly file?: string;
  /** Values that win over the config (command-line options), relative to `cwd`. */
  readonly overrides?: DivanConfig;
  /** Folder the overrides' paths are relative to. Default: `dir`. */
  readonly cwd?: string;
}

/**
 * Merges `overrides` over `config` over {@link CONFIG_DEFAULTS} and makes every path absolute: the
 * library form of the configuration (`resolveConfig({ schemas: "schemas" }, { dir: appRoot })`).
 *
 * @throws DivanError `CONFIG_INVALID` when `config` or `overrides` is malformed.
 */
export function resolveConfig(config: DivanConfig, options: ResolveOptions): ResolvedConfig {
  const label = options.file ?? "configuration";
  const fromConfig = parseConfig(config, label);
  const fromCli = parseConfig(options.overrides ?? {}, "command line");
  const cwd = options.cwd ?? options.dir;
  const pick = <K extends keyof DivanConfig>(key: K): { value: DivanConfig[K]; base: string } | undefined =>
    fromCli[key] !== undefined ? { value: fromCli[key], base: cwd } : fromConfig[key] !== undefined ? { value: fromConfig[key], base: options.dir } : undefined;
  const pathOf = (key: (typeof PATH_FIELDS)[number]): string | undefined => {
    const p = pick(key);
    const value = (p?.value as string | undefined) ?? (key in CONFIG_DEFAULTS ? CONFIG_DEFAULTS[key as keyof typeof CONFIG_DEFAULTS] : undefined);
    return value === undefined ? undefined : path.resolve(p?.base ?? options.dir, value);
  };
  const types = pathOf("types");
  const transform = pathOf("transform");
  const db = fromCli.db ?? fromConfig.db;
  const stateDb = fromCli.stateDb ?? fromConfig.stateDb;
  return {
    ...(options.file === undefined ? {} : { file: options.file }),
    schemas: pathOf("schemas")!,
    manifests: pathOf("manifests")!,
    steps: pathOf("steps")!,
    ...(types === undefined ? {} : { types }),
    ...(db === undefined ? {} : { db }),
    ...(stateDb === undefined ? {} : { stateDb }),
    typeField: fromCli.typeField ?? fromConfig.typeField ?? CONFIG_DEFAULTS.typeField,
    versionField: fromCli.versionField ?? fromConfig.versionField ?? CONFIG_DEFAULTS.versionField,
    infer: fromCli.infer ?? fromConfig.infer ?? [],
    ...(transform === undefined ? {} : { transform }),
    given: [...KNOWN_FIELDS].filter((k): k is keyof DivanConfig => fromCli[k as keyof DivanConfig] !== undefined || fromConfig[k as keyof DivanConfig] !== undefined),
  };
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The working directory: where the config file is looked for and CLI paths are relative to. Default `process.cwd()`. */
  readonly cwd?: string;
  /** An explicit config file (`--config FILE`), relative to `cwd`; it must exist. */
  readonly file?: string;
  /** Values that win over the file (command-line options). */
  readonly overrides?: DivanConfig;
}

/**
 * Finds (or takes) the config file, reads and checks it, and merges the overrides over it over the
 * defaults ({@link resolveConfig}). Without a file, the defaults are relative to `cwd`.
 *
 * @throws DivanError `CONFIG_INVALID` naming the file (and the field) when the file is missing, unreadable or malformed.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<ResolvedConfig> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  let file: string | undefined;
  if (options.file !== undefined) {
    file = path.resolve(cwd, options.file);
    if (!(await isFile(file))) throw new DivanError("CONFIG_INVALID", `--config ${options.file}: no such file`, { details: { file } });
  } else {
    file = await findConfigFile(cwd);
  }
  const config = file === undefined ? {} : await readConfigFile(file);
  return resolveConfig(config, { dir: file === undefined ? cwd : path.dirname(file), cwd, ...(file === undefined ? {} : { file }), ...(options.overrides === undefined ? {} : { overrides: options.overrides }) });
}

/** Adds `--config FILE` to a command. */
export function configOption(cmd: Command): Command {
  return cmd.option("--config <file>", `divan config file (default: ${CONFIG_FILES.slice(0, 3).join(" / ")}… in the working directory)`);
}

/**
 * The configuration of a command run: the `--config` file (or the one found in the working directory)
 * with the options given on the command line over it. Options whose value is commander's default are
 * not overrides (so a config value wins over a default). `map` names the config field of an option when
 * it differs from the option's key (`{ out: "types" }`).
 */
export async function commandConfig(cmd: Command, map: Readonly<Record<string, keyof DivanConfig>> = {}): Promise<ResolvedConfig> {
  const opts = cmd.opts<Record<string, unknown>>();
  const overrides: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(opts)) {
    if (key === "config" || value === undefined) continue;
    const source = cmd.getOptionValueSource(key);
    if (source === "default" || source === "implied") continue;
    const field = map[key] ?? key;
    if (KNOWN_FIELDS.has(field) && field !== "infer") overrides[field] = value;
  }
  const file = opts["config"];
  return loadConfig({ overrides: overrides as DivanConfig, ...(typeof file === "string" ? { file } : {}) });
}

/** A path for messages: relative to the working directory when inside it, else absolute. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel === "" || rel.startsWith("..") || path.isAbsolute(rel) ? file : rel;
}
