/**
 * `divan init`: starts an app's divan folder from the bundled example app, with imports of the installed package.
 *
 * `divan init [DIR] [--force]`: starts an app's divan folder from the bundled example app, `examples/todo-app`, which is
 * laid out as an app lays it out: `divan.config.ts`, `schemas/`, `manifests/`, `steps/` and the generated
 * `types.ts`. Imports of divan's own modules in the copied TypeScript files become package imports
 * (`divan`, `divan/server`, `divan/client`), so the copy works where the `divan` package is installed.
 * Refuses to overwrite an existing file unless `--force`. A folder without `package.json` gets a minimal one
 * (`"type": "module"`, depending on the divan package init ran from by a `file:` path, since divan is on no
 * registry): the steps are ES modules.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { DivanError } from "../../core/errors.js";
import { displayPath } from "../config.js";

/** The template's entries (files or folders), relative to the template folder. */
export const TEMPLATE_ENTRIES = ["divan.config.ts", "schemas", "manifests", "steps", "types.ts"] as const;

/** The folder of the template: `examples/todo-app` of the divan package (found from this module, in the sources or in `dist/`). */
export function templateDir(): string {
  let dir = import.meta.dirname;
  for (;;) {
    const candidate = path.join(dir, "examples", "todo-app");
    if (existsSync(path.join(dir, "package.json")) && existsSync(path.join(candidate, "divan.config.ts"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new DivanError("NOT_FOUND", `cannot find the divan init template (examples/todo-app) above ${import.meta.dirname}`);
    dir = parent;
  }
}

async function filesUnder(root: string, rel: string): Promise<string[]> {
  const abs = path.join(root, rel);
  if (!(await stat(abs)).isDirectory()) return [rel];
  const out: string[] = [];
  for (const entry of await readdir(abs, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    out.push(...(await filesUnder(root, path.join(rel, entry.name))));
  }
  return out.sort();
}

/**
 * The text of a template file as it should be in the app: in TypeScript files, relative imports that
 * leave the template folder (`../../../adapters/steps.js`) become imports of the divan package entry that
 * exports them (`divan/server` for `server/`, `divan/client` for `client/`, else `divan`).
 */
export function rewriteImports(text: string, fileInTemplate: string, template: string): string {
  const packageRoot = path.resolve(template, "..", "..");
  return text.replace(/(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"']+)\2/g, (whole, head: string, quote: string, spec: string) => {
    const target = path.resolve(path.dirname(path.join(template, fileInTemplate)), spec);
    const inTemplate = path.relative(template, target);
    if (!inTemplate.startsWith("..")) return whole;
    const fromRoot = path.relative(packageRoot, target).split(path.sep).join("/");
    const entry = fromRoot.startsWith("server/") ? "divan/server" : fromRoot.startsWith("client/") ? "divan/client" : "divan";
    return `${head}${quote}${entry}${quote}`;
  });
}

/** Options of {@link initApp}. */
export interface InitOptions {
  /** The folder to fill (created when missing). */
  readonly dir: string;
  /** Overwrite existing files. */
  readonly force?: boolean;
  /** The template folder (default {@link templateDir}). */
  readonly template?: string;
}

/**
 * Copies the template into `dir` and returns the files written (relative to `dir`).
 *
 * @throws DivanError `CONFLICT` listing the files that exist, without writing anything, unless `force`.
 */
export async function initApp(options: InitOptions): Promise<string[]> {
  const template = options.template ?? templateDir();
  const files: string[] = [];
  for (const entry of TEMPLATE_ENTRIES) files.push(...(await filesUnder(template, entry)));
  if (options.force !== true) {
    const existing = files.filter((f) => existsSync(path.join(options.dir, f)));
    if (existing.length > 0) {
      throw new DivanError(
        "CONFLICT",
        `${displayPath(options.dir)} already has ${existing.slice(0, 5).join(", ")}${existing.length > 5 ? ` and ${existing.length - 5} more` : ""}; nothing written (--force overwrites)`,
        { details: { dir: options.dir, existing } },
      );
    }
  }
  for (const f of files) {
    const text = await readFile(path.join(template, f), "utf8");
    const out = /\.[cm]?ts$/.test(f) ? rewriteImports(text, f, template) : text;
    await mkdir(path.dirname(path.join(options.dir, f)), { recursive: true });
    await writeFile(path.join(options.dir, f), out, "utf8");
  }
  const written = files.map((f) => f.split(path.sep).join("/"));
  // The steps are ES modules importing the ESM-only divan package: a folder without package.json gets one
  // saying so (a CommonJS default would make them require("divan"), which divan does not support).
  if (!existsSync(path.join(options.dir, "package.json"))) {
    await writeFile(path.join(options.dir, "package.json"), `${JSON.stringify(await appPackageJson(options.dir, template), null, 2)}\n`, "utf8");
    written.push("package.json");
  }
  return written;
}

/**
 * How the app depends on divan: a `file:` reference to the divan package `init` ran from (relative to the app
 * folder), which `npm install` resolves; divan is not published on a registry.
 */
export function divanDependency(dir: string, template: string): string {
  const packageRoot = path.resolve(template, "..", "..");
  const rel = path.relative(path.resolve(dir), packageRoot).split(path.sep).join("/");
  return `file:${rel === "" ? "." : rel}`;
}

/** A minimal package.json for a new app folder: private, ES modules, depending on the divan package init ran from. */
async function appPackageJson(dir: string, template: string): Promise<Record<string, unknown>> {
  const own = JSON.parse(await readFile(path.resolve(template, "..", "..", "package.json"), "utf8")) as { name?: unknown };
  const name = path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[._-]+/, "") || "app";
  return {
    name,
    private: true,
    type: "module",
    dependencies: { [typeof own.name === "string" ? own.name : "divan"]: divanDependency(dir, template) },
  };
}

/** Registers `divan init`. */
export function register(program: Command): void {
  program
    .command("init")
    .description("Start an app's divan folder (divan.config.ts, schemas, manifests, steps, types.ts) from the bundled example app (examples/todo-app)")
    .argument("[dir]", "folder to fill (created when missing)", ".")
    .option("--force", "overwrite existing files")
    .action(async (dir: string, opts: { force?: boolean }) => {
      const target = path.resolve(dir);
      const written = await initApp({ dir: target, ...(opts.force === true ? { force: true } : {}) });
      process.stdout.write(
        [
          `wrote ${written.length} files into ${displayPath(target) || "."}:`,
          ...written.map((f) => `  ${f}`),
          "",
          `next: install divan in the app (the steps import it): ${written.includes("package.json") ? `npm install (package.json depends on this divan by path, ${divanDependency(target, templateDir())}; divan is on no registry)` : `npm install ${divanDependency(target, templateDir())}`}, then`,
          `  ${dir === "." ? "" : `cd ${dir} && `}divan check && divan types --check`,
          "",
        ].join("\n"),
      );
    });
}
