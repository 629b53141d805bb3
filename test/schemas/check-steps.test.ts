/**
 * Issue 14 item 9: `divan check` executes every step and every path between manifest versions on documents
 * generated from the schemas, and fails (exit 1) when an output does not validate or a round trip loses
 * something, naming the step, the input and the attribute; a step at a version without schema, or reading an
 * attribute its schema does not have, is an error.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documentStep, type DeclarativeStep, type StepDefinition } from "../../adapters/steps.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { checkSchemas } from "../../server/commands/check.js";

const ROOT = join(import.meta.dirname, "../..");
const TODO = join(ROOT, "examples/todo-app");

/** tsx's loader by absolute URL: the child runs in a folder outside the repository. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

function divan(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", TSX, join(ROOT, "server/cli.ts"), ...args], { cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "divan-check-steps-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A copy of the todo app's schemas and manifests, plus `settings/2.0.json` (a required `hue`, or an optional one). */
async function app(name: string, hue: "required" | "optional" | "none"): Promise<string> {
  const dir = join(tmp, name);
  await cp(join(TODO, "schemas"), join(dir, "schemas"), { recursive: true });
  await cp(join(TODO, "manifests"), join(dir, "manifests"), { recursive: true });
  if (hue !== "none") {
    await writeFile(
      join(dir, "schemas/settings/2.0.json"),
      JSON.stringify({
        type: "object",
        required: ["_id", "schema", "version", ...(hue === "required" ? ["hue"] : [])],
        properties: { _id: { type: "string" }, _rev: { type: "string" }, schema: { const: "settings" }, version: { const: 2 }, hue: { type: "string", pattern: "^#[0-9a-fA-F]{6}$" } },
      }),
    );
  }
  return dir;
}

const colourStep: DeclarativeStep = { name: "settings 1→2: colour → hue", from: { settings: 1 }, to: { settings: 2 }, ops: [{ op: "rename", from: "colour", to: "hue" }] };
const colorStep: DeclarativeStep = { name: "settings 1→2: color → hue", from: { settings: 1 }, to: { settings: 2 }, ops: [{ op: "rename", from: "color", to: "hue" }] };

describe("divan check runs the steps", () => {
  it("the todo app passes: both steps and the 1→3 path between its manifests run on generated documents", async () => {
    const r = await checkSchemas({ schemas: join(TODO, "schemas"), manifests: join(TODO, "manifests"), steps: todoSteps, runs: 50, seed: 7 });
    expect(r.errors).toEqual([]);
    expect(r.executed).toEqual([
      { what: `step "todo-item 1→2: isDone → status"`, runs: 50 },
      { what: `step "todo-item 2→3: extract status, add group"`, runs: 50 },
      { what: "path todo-item@1 -> todo-item@3+todo-item-status@1", runs: 50 },
    ]);
  });

  it("a rename from an attribute the schema does not have (colour) fails, statically and on the generated documents", async () => {
    const dir = await app("colour", "required");
    const r = await checkSchemas({ schemas: join(dir, "schemas"), steps: [...todoSteps, colourStep], runs: 30, seed: 1 });
    expect(r.errors.some((e) => /step "settings 1→2: colour → hue" up, op 0 \(rename\): settings@1 has no attribute colour \(its schema declares schema, version, color\)/.test(e))).toBe(true);
    const dynamic = r.errors.find((e) => e.startsWith(`step "settings 1→2: colour → hue", up: up(x): settings@2 is invalid: /hue must have required property`));
    expect(dynamic, r.errors.join("\n")).toBeDefined();
    expect(dynamic).toMatch(/input \{"settings":\{.*"color":"#[0-9a-fA-F]{6}".*\}\} \(seed 1: replay with --seed 1\)/);
    // With an optional hue, the documents still show it: color never reaches hue, and on the way down a
    // settings@1 has no color.
    const optional = await checkSchemas({ schemas: join(await app("colour-optional", "optional"), "schemas"), steps: [...todoSteps, colourStep], runs: 30, seed: 1 });
    expect(optional.errors[0]).toMatch(/settings@1 has no attribute colour/);
    expect(optional.errors.some((e) => e.startsWith(`step "settings 1→2: colour → hue", down: down(y): settings@1 is invalid: /color must have required property 'color'`))).toBe(true);
    // The right rename passes.
    expect((await checkSchemas({ schemas: join(dir, "schemas"), steps: [...todoSteps, colorStep], runs: 30, seed: 1 })).errors).toEqual([]);
  });

  it("a step from a major that has no schema is an error", async () => {
    const r = await checkSchemas({ schemas: join(TODO, "schemas"), steps: [...todoSteps, { from: { "todo-item": 3, "todo-item-status": 1 }, to: { "todo-item": 4 }, ops: [{ op: "merge", type: "todo-item", from: "todo-item-status", fields: ["status"] }] }], runs: 10 });
    expect(r.errors).toEqual([expect.stringMatching(/step "todo-item@3\+todo-item-status@1->todo-item@4" ends at todo-item@4, which has no schema: add todo-item\/4\.0\.json/)]);
  });

  it("an output that does not validate names the step, the attribute and a shrunk input", async () => {
    const emptyGroup: DeclarativeStep = { ...todoSteps[1]!, ops: [{ op: "extract", fields: ["status"], into: "todo-item-status" }, { op: "add", field: "group", default: "" }] } as DeclarativeStep;
    const r = await checkSchemas({ schemas: join(TODO, "schemas"), steps: [todoSteps[0]!, emptyGroup], runs: 30, seed: 3 });
    expect(r.errors.find((e) => e.startsWith(`step "todo-item 2→3: extract status, add group", up: up(x): todo-item@3 is invalid: /group must NOT have fewer than 1 characters`))).toBeDefined();
    expect(r.errors.find((e) => e.startsWith("path todo-item@1 -> todo-item@3+todo-item-status@1"))).toBeUndefined(); // no manifests given
  });

  it("a function step that loses an attribute fails, naming it", async () => {
    const lossy: StepDefinition = documentStep<{ isDone: boolean }, { status: string }>("todo-item", 1, 2, {
      name: "lossy 1→2",
      up: ({ isDone, ...rest }) => ({ ...rest, status: isDone ? "done" : "active" }),
      // forgets isImportant on the way down
      down: ({ status, isImportant: _dropped, ...rest }: { status: string; isImportant?: unknown }) => ({ ...rest, isDone: status === "done" }),
    }) as StepDefinition;
    const r = await checkSchemas({ schemas: join(TODO, "schemas"), steps: [lossy, todoSteps[1]!], runs: 100, seed: 5 });
    expect(r.errors.find((e) => /^step "lossy 1→2", up: up\(x\) failed on isImportant: .*would lose todo-item attribute isImportant/.test(e)), r.errors.join("\n")).toBeDefined();
  });

  it("a schema the generator cannot cover is an error naming it, not a silent pass", async () => {
    const dir = join(tmp, "email");
    await mkdir(join(dir, "note"), { recursive: true });
    const note = (v: number, field: string) => ({ type: "object", required: ["_id", "schema", "version"], properties: { _id: { type: "string" }, schema: { const: "note" }, version: { const: v }, [field]: { type: "string", format: "email" } } });
    await writeFile(join(dir, "note/1.0.json"), JSON.stringify(note(1, "mail")));
    await writeFile(join(dir, "note/2.0.json"), JSON.stringify(note(2, "email")));
    const r = await checkSchemas({ schemas: dir, steps: [{ name: "note 1→2", from: { note: 1 }, to: { note: 2 }, ops: [{ op: "rename", from: "mail", to: "email" }] }], runs: 10 });
    expect(r.errors).toEqual([expect.stringMatching(/^step "note 1→2": divan check cannot generate documents for it \(.*unsupported string format email\); it is not checked$/)]);
  });

  it("the CLI exits 1 naming the step, the input and the field, and takes --runs and --seed", async () => {
    const dir = await app("cli", "required");
    await mkdir(join(dir, "steps"));
    await writeFile(join(dir, "steps/index.mjs"), `export const steps = ${JSON.stringify([colourStep])};\n`);
    const r = await divan(["check", "--steps", "steps/index.mjs", "--runs", "20", "--seed", "9"], dir);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain(`error: step "settings 1→2: colour → hue" up, op 0 (rename): settings@1 has no attribute colour`);
    expect(r.stdout).toMatch(/error: step "settings 1→2: colour → hue", up: up\(x\): settings@2 is invalid: \/hue must have required property 'hue'; input .*"color".* \(seed 9: replay with --seed 9\)/);
    expect(r.stdout).toContain(`executed step "settings 1→2: colour → hue" on 20 generated document(s) each way`);
    expect(r.stdout).toMatch(/check failed: \d+ error\(s\)/);
    const bad = await divan(["check", "--steps", "steps/index.mjs", "--runs", "0"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("[CONFIG_INVALID]");
  });
});
