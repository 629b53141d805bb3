/**
 * `divan.config.*`: discovery in the working directory, `--config FILE`, paths relative to the
 * config file, command line over config over defaults, `CONFIG_INVALID` naming file and field; and
 * `divan init` into a fresh folder, where `divan check` and `divan types --check` then pass.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDivanError } from "../../core/errors.js";
import { CONFIG_DEFAULTS, commandConfig, configOption, loadConfig, resolveConfig } from "../../server/config.js";
import { initApp, rewriteImports, templateDir } from "../../server/commands/init.js";
import { ROOT, TODO_APP, divan, type CliResult } from "./support.js";

/** Runs `divan <args>` from the sources in `cwd` (which may lie outside the repository). */
function divanIn(cwd: string, args: readonly string[]): Promise<CliResult> {
  return divan(args, { cwd });
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "divan-config-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A fresh folder under the test's temporary directory. */
async function folder(name: string): Promise<string> {
  const dir = path.join(tmp, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe("loadConfig", () => {
  it("without a config file, every path is a default relative to the working directory", async () => {
    const cwd = await folder("empty");
    const c = await loadConfig({ cwd });
    expect(c.file).toBeUndefined();
    expect(c.schemas).toBe(path.join(cwd, CONFIG_DEFAULTS.schemas));
    expect(c.manifests).toBe(path.join(cwd, "manifests"));
    expect(c.steps).toBe(path.join(cwd, "steps/index.ts"));
    expect([c.typeField, c.versionField, c.db, c.types]).toEqual(["schema", "version", undefined, undefined]);
    expect(c.given).toEqual([]);
  });

  it("finds divan.config.json in the working directory and resolves its paths from there", async () => {
    const cwd = await folder("json");
    await writeFile(path.join(cwd, "divan.config.json"), JSON.stringify({ schemas: "defs", types: "gen/types.ts", db: "http://127.0.0.1:5984/todos", typeField: "kind" }));
    const c = await loadConfig({ cwd });
    expect(c.file).toBe(path.join(cwd, "divan.config.json"));
    expect(c.schemas).toBe(path.join(cwd, "defs"));
    expect(c.types).toBe(path.join(cwd, "gen/types.ts"));
    expect(c.manifests).toBe(path.join(cwd, "manifests"));
    expect([c.db, c.typeField, c.versionField]).toEqual(["http://127.0.0.1:5984/todos", "kind", "version"]);
    expect([...c.given].sort()).toEqual(["db", "schemas", "typeField", "types"]);
  });

  it("finds the todo example's divan.config.ts (TypeScript) and takes its infer rules", async () => {
    const c = await loadConfig({ cwd: TODO_APP });
    expect(c.file).toBe(path.join(TODO_APP, "divan.config.ts"));
    expect(c.schemas).toBe(path.join(TODO_APP, "schemas"));
    expect(c.steps).toBe(path.join(TODO_APP, "steps/index.ts"));
    expect(c.types).toBe(path.join(TODO_APP, "types.ts"));

    const cwd = await folder("mjs");
    await writeFile(path.join(cwd, "divan.config.mjs"), `export default { infer: [{ idPrefix: "todo:", type: "todo-item", version: 1 }, (doc) => undefined] };\n`);
    const m = await loadConfig({ cwd });
    expect(m.infer[0]).toEqual({ idPrefix: "todo:", type: "todo-item", version: 1 });
    expect(typeof m.infer[1]).toBe("function");
  });

  it("--config FILE elsewhere: its paths are relative to the file, command-line paths to the working directory", async () => {
    const cwd = await folder("elsewhere/cwd");
    const app = await folder("elsewhere/app");
    await writeFile(path.join(app, "my.config.json"), JSON.stringify({ schemas: "defs", manifests: "apps" }));
    const c = await loadConfig({ cwd, file: "../app/my.config.json", overrides: { manifests: "local-manifests" } });
    expect(c.file).toBe(path.join(app, "my.config.json"));
    expect(c.schemas).toBe(path.join(app, "defs"));
    expect(c.manifests).toBe(path.join(cwd, "local-manifests"));
    expect(c.steps).toBe(path.join(app, "steps/index.ts")); // a default is relative to the config file too
  });

  it("command line over config over defaults, field by field", () => {
    const c = resolveConfig(
      { schemas: "cfg-schemas", typeField: "kind", db: "cfg-db" },
      { dir: "/app", cwd: "/work", overrides: { typeField: "type", db: "http://127.0.0.1:1/cli" } },
    );
    expect(c.schemas).toBe(path.resolve("/app/cfg-schemas")); // config over default
    expect(c.typeField).toBe("type"); // command line over config
    expect(c.db).toBe("http://127.0.0.1:1/cli");
    expect(c.versionField).toBe("version"); // default
    expect(c.manifests).toBe(path.resolve("/app/manifests"));
  });

  it("a bad config is CONFIG_INVALID naming the file and the field", async () => {
    const cwd = await folder("bad");
    const file = path.join(cwd, "divan.config.json");
    for (const [config, field] of [
      [{ schemas: 3 }, "schemas"],
      [{ schema: "schemas" }, "schema"],
      [{ infer: [{ idPrefix: "x:" }] }, "infer[0]"],
    ] as const) {
      await writeFile(file, JSON.stringify(config));
      const e = await rejection(loadConfig({ cwd }));
      expect(isDivanError(e) && e.code).toBe("CONFIG_INVALID");
      expect(isDivanError(e) && e.details).toMatchObject({ file, field });
      expect((e as Error).message).toContain(file);
      expect((e as Error).message).toContain(`"${field}"`);
    }
    await writeFile(file, "{ not json");
    const e = await rejection(loadConfig({ cwd }));
    expect(isDivanError(e) && [e.code, e.details["file"]]).toEqual(["CONFIG_INVALID", file]);
  });

  it("a missing --config file, and two config files in one folder, are CONFIG_INVALID", async () => {
    const cwd = await folder("two");
    const missing = await rejection(loadConfig({ cwd, file: "nope.json" }));
    expect(isDivanError(missing) && missing.code).toBe("CONFIG_INVALID");
    await writeFile(path.join(cwd, "divan.config.json"), "{}");
    await writeFile(path.join(cwd, "divan.config.mjs"), "export default {};\n");
    const two = await rejection(loadConfig({ cwd }));
    expect(isDivanError(two) && two.code).toBe("CONFIG_INVALID");
    expect((two as Error).message).toMatch(/divan\.config\.mjs, divan\.config\.json/);
  });

  it("commandConfig: an option left at its commander default does not hide the config value; one given does", async () => {
    const app = await folder("cmd");
    const file = path.join(app, "divan.config.json");
    await writeFile(file, JSON.stringify({ schemas: "defs", typeField: "kind" }));
    const parse = async (args: string[]): Promise<Awaited<ReturnType<typeof commandConfig>>> => {
      const cmd = configOption(new Command("x").option("--schemas <dir>", "", "schemas").option("--type-field <name>", "", "schema").option("--out <file>"));
      cmd.parse(args, { from: "user" });
      return commandConfig(cmd, { out: "types" });
    };
    const defaults = await parse(["--config", file]);
    expect([defaults.schemas, defaults.typeField]).toEqual([path.join(app, "defs"), "kind"]);
    const given = await parse(["--config", file, "--type-field", "type", "--out", path.join(app, "t.ts")]);
    expect([given.schemas, given.typeField, given.types]).toEqual([path.join(app, "defs"), "type", path.join(app, "t.ts")]);
  });
});

describe("divan init", () => {
  it("turns imports of divan's own modules into package imports and keeps the template's own", () => {
    const template = templateDir();
    const text = `import { documentStep, type Step } from "../../../adapters/steps.js";\nimport type { TodoItemV1 } from "../types.js";\nconst c = await import("../../../client/index.js");\n`;
    expect(rewriteImports(text, "steps/1-to-2.ts", template)).toBe(
      `import { documentStep, type Step } from "divan";\nimport type { TodoItemV1 } from "../types.js";\nconst c = await import("divan/client");\n`,
    );
    expect(rewriteImports(`import type { DivanConfig } from "../../server/config.js";\n`, "divan.config.ts", template)).toBe(`import type { DivanConfig } from "divan/server";\n`);
  });

  it.concurrent("copies the template into a new folder where divan check and divan types --check pass; refuses to overwrite without --force", async () => {
    const app = path.join(tmp, "init", "my-app");
    const init = await divanIn(tmp, ["init", path.join("init", "my-app")]);
    expect(init.code, init.stderr).toBe(0);
    for (const f of ["divan.config.ts", "schemas/todo-item/3.0.json", "manifests/3.0.0.json", "steps/index.ts", "types.ts", "package.json"]) {
      expect(existsSync(path.join(app, f)), f).toBe(true);
      expect(init.stdout).toContain(f);
    }
    const pkg = JSON.parse(await readFile(path.join(app, "package.json"), "utf8")) as { type: string; dependencies: Record<string, string> };
    expect(pkg.type).toBe("module");
    // divan is on no registry: the app depends on the package init ran from, by a path npm install resolves
    expect(pkg.dependencies["divan"]).toMatch(/^file:/);
    const installed = path.resolve(app, pkg.dependencies["divan"]!.slice("file:".length));
    expect(JSON.parse(await readFile(path.join(installed, "package.json"), "utf8"))).toMatchObject({ name: "divan" });
    expect(init.stdout).toContain(`npm install (package.json depends on this divan by path, ${pkg.dependencies["divan"]}`);
    const steps = await readFile(path.join(app, "steps/1-to-2.ts"), "utf8");
    expect(steps).toContain(`from "divan"`);
    expect(steps).not.toContain("../../../");

    // As after `npm install divan`: the app's node_modules/divan is this package (built dist/ by npm install).
    await mkdir(path.join(app, "node_modules"));
    await symlink(ROOT, path.join(app, "node_modules", "divan"), "dir");
    const check = await divanIn(app, ["check"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain("check passed");
    expect(check.stdout).toContain("| 3.0.0 |"); // manifests found through the config
    expect(check.stdout).not.toContain("no step registered"); // the copied steps were imported
    const types = await divanIn(app, ["types", "--check"]);
    expect(types.code, types.stderr).toBe(0);
    expect(types.stdout).toContain("types.ts is up to date");

    await writeFile(path.join(app, "schemas/todo-item/3.0.json"), "{}");
    const e = await rejection(initApp({ dir: app }));
    expect(isDivanError(e) && e.code).toBe("CONFLICT");
    expect(await readFile(path.join(app, "schemas/todo-item/3.0.json"), "utf8")).toBe("{}");
    await initApp({ dir: app, force: true });
    expect(JSON.parse(await readFile(path.join(app, "schemas/todo-item/3.0.json"), "utf8"))).toEqual(
      JSON.parse(await readFile(path.join(TODO_APP, "schemas/todo-item/3.0.json"), "utf8")),
    );
  });
});

describe("--config on the command line", () => {
  it.concurrent("divan types and validate take --config from another folder; command-line options win over it", async () => {
    const app = await folder("cli/app");
    const cwd = await folder("cli/elsewhere");
    const file = path.join(app, "conf.json");
    await writeFile(file, JSON.stringify({ schemas: path.relative(app, path.join(TODO_APP, "schemas")), types: "gen/types.ts", typeField: "kind" }));
    await mkdir(path.join(app, "gen"));

    const written = await divanIn(cwd, ["types", "--config", file]);
    expect(written.code, written.stderr).toBe(0);
    expect(await readFile(path.join(app, "gen/types.ts"), "utf8")).toContain("export interface TodoItemV3 {");

    const doc = { _id: "t1", kind: "todo-item", version: 1, title: 42, isDone: true, createdAt: "2024-01-01T00:00:00Z" };
    await writeFile(path.join(cwd, "docs.json"), JSON.stringify([doc]));
    const byConfig = await divanIn(cwd, ["validate", "docs.json", "--config", file]);
    expect(byConfig.code).toBe(1); // "kind" from the config identifies the document: its title is no string
    expect(byConfig.stdout).toContain("invalid t1");
    const byCli = await divanIn(cwd, ["validate", "docs.json", "--config", file, "--type-field", "schema"]);
    expect(byCli.code).toBe(0); // --type-field wins: the document has no "schema", so it is of no known type
    expect(byCli.stdout).toContain("no type: 1 (not validated): t1");
  });

  it.concurrent("a bad --config fails with CONFIG_INVALID naming the file and the field", async () => {
    const dir = await folder("cli/bad");
    await writeFile(path.join(dir, "divan.config.json"), JSON.stringify({ versionField: false }));
    const r = await divanIn(dir, ["check"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(path.join(dir, "divan.config.json"));
    expect(r.stderr).toContain(`"versionField"`);
    expect(r.stderr).toContain("[CONFIG_INVALID]");
  });
});
