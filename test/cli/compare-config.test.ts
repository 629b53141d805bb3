/**
 * `divan compare --config` on a team's own app, as a new user gets there: `divan init myapp`, a breaking change
 * added to one of its types (a rename plus a new required field: a new schema version, a manifest and a step),
 * then `divan compare --config myapp/divan.config.ts` runs every strategy on that change, in a child process,
 * on the embedded server or `COUCHDB_URL` (the CLI reads it). And an additive change is refused with
 * `CHANGE_NOT_BREAKING` and compared with `non-breaking` only.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComparisonReport } from "../../examples/todo-app/compare.js";
import { SCENARIOS } from "../../examples/todo-app/scenarios.js";
import { strategyNames } from "../../examples/strategies.js";
import { RUN_BUDGET_MS } from "../support/comparison.js";
import { ROOT, TODO_APP, divan } from "./support.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "divan-compare-config-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Adds app 4.0.0 to an app made by `divan init`: todo-item@4 renames `title` to `name` and requires a `priority`. */
async function addBreakingChange(app: string): Promise<void> {
  const schema = JSON.parse(await readFile(path.join(app, "schemas/todo-item/3.0.json"), "utf8")) as {
    $id: string;
    title: string;
    required: string[];
    properties: Record<string, unknown>;
  };
  const { title, ...rest } = schema.properties;
  schema.$id = schema.$id.replace("3.0.json", "4.0.json");
  schema.title = "todo-item 4.0";
  schema.required = [...schema.required.map((r) => (r === "title" ? "name" : r)), "priority"];
  schema.properties = { ...rest, name: title, version: { const: 4 }, priority: { type: "integer", minimum: 1, maximum: 5, default: 3 } };
  await writeFile(path.join(app, "schemas/todo-item/4.0.json"), JSON.stringify(schema, null, 2));
  const manifest = JSON.parse(await readFile(path.join(app, "manifests/3.0.0.json"), "utf8")) as { version: string; dependencies: Record<string, string> };
  manifest.version = "4.0.0";
  manifest.dependencies["todo-item"] = "^4.0.0";
  await writeFile(path.join(app, "manifests/4.0.0.json"), JSON.stringify(manifest));
  await writeFile(
    path.join(app, "steps/3-to-4.ts"),
    `import type { DeclarativeStep } from "divan";

/** 3.0 → 4.0: the title is called name, and every item has a priority (3 unless set). */
export const todoItem3to4: DeclarativeStep = {
  name: "todo-item 3→4: rename title to name, add priority",
  from: { "todo-item": 3, "todo-item-status": 1 },
  to: { "todo-item": 4, "todo-item-status": 1 },
  ops: [
    { op: "rename", type: "todo-item", from: "title", to: "name" },
    { op: "add", type: "todo-item", field: "priority", default: 3 },
  ],
};
`,
  );
  const index = await readFile(path.join(app, "steps/index.ts"), "utf8");
  const withStep = index
    .replace(`import { todoItem2to3 } from "./2-to-3.js";`, `import { todoItem2to3 } from "./2-to-3.js";\nimport { todoItem3to4 } from "./3-to-4.js";`)
    .replace("[todoItem1to2, todoItem2to3]", "[todoItem1to2, todoItem2to3, todoItem3to4]");
  expect(withStep).toContain("todoItem3to4]");
  await writeFile(path.join(app, "steps/index.ts"), withStep);
}

const breaking = strategyNames({ breaking: { from: "3.0.0", to: "4.0.0" } });

describe("divan compare --config", () => {
  it(
    "divan init myapp, a rename plus a new required field in todo-item, then every strategy × every scenario on that change",
    async () => {
      const init = await divan(["init", "myapp"], { cwd: tmp });
      expect(init.code, init.stderr).toBe(0);
      const app = path.join(tmp, "myapp");
      // As after `npm install`: the app's steps import divan (its built dist/).
      await mkdir(path.join(app, "node_modules"));
      await symlink(ROOT, path.join(app, "node_modules", "divan"), "dir");
      await addBreakingChange(app);
      const check = await divan(["check"], { cwd: app });
      expect(check.code, check.stdout + check.stderr).toBe(0);

      const r = await divan(["compare", "--config", "myapp/divan.config.ts", "--out", "reports"], { cwd: tmp });
      expect(r.stderr).toContain("app 3.0.0 → 4.0.0 (breaking)");
      const report = JSON.parse(await readFile(path.join(tmp, "reports", "report.json"), "utf8")) as ComparisonReport;
      expect(report.strategies.map((s) => s.name)).toEqual(breaking);
      expect(report.scenarios.map((s) => s.name)).toEqual(SCENARIOS.map((s) => s.name));
      expect(report.runs).toHaveLength(breaking.length * SCENARIOS.length);
      for (const run of report.runs) expect(run.change).toEqual({ from: "3.0.0", to: "4.0.0" });
      // The scenarios ran on the app's own entities: they created todo-items at 3.0/4.0 and wrote them.
      expect(report.runs.every((run) => run.metrics.userWrites > 0)).toBe(true);
      const bad = report.runs.filter((run) => run.status === "fail" || run.status === "error").map((run) => `${run.strategy} × ${run.scenario}: ${run.error ?? run.invariants.filter((i) => !i.ok && !i.expected).map((i) => i.violations[0]).join("; ")}`);
      expect(bad).toEqual([]);
      expect(r.code, r.stderr).toBe(0);
      // The strategy that migrates nothing shows what breaks: the new app cannot read what the old one wrote.
      expect(report.runs.find((run) => run.strategy === "none" && run.scenario === "basti")?.status).toBe("expected");
    },
    30_000 + breaking.length * SCENARIOS.length * RUN_BUDGET_MS,
  );

  it("refuses an additive change with CHANGE_NOT_BREAKING and compares it with non-breaking only", async () => {
    const out = path.join(tmp, "additive");
    const r = await divan(["compare", "--config", path.join(TODO_APP, "divan.config.ts"), "--from", "1.0.0", "--to", "1.1.0", "--scenarios", "basti", "--out", out], { cwd: tmp });
    expect(r.stderr).toContain("CHANGE_NOT_BREAKING: app 1.0.0 → 1.1.0 changes no document type's major version");
    const report = JSON.parse(await readFile(path.join(out, "report.json"), "utf8")) as ComparisonReport;
    expect(report.runs.map((run) => `${run.strategy} ${run.status}`)).toEqual(["non-breaking pass"]);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000 + RUN_BUDGET_MS);

  it("names a version without a manifest, and wants --config for --from/--to", async () => {
    const missing = await divan(["compare", "--config", path.join(TODO_APP, "divan.config.ts"), "--to", "9.0.0"], { cwd: tmp });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("No manifest for app 9.0.0");
    expect(missing.stderr).toContain("[CONFIG_INVALID]");
    const alone = await divan(["compare", "--from", "1.0.0"], { cwd: tmp });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain("--from and --to choose a change of the app given with --config");
  }, 120_000);
});
