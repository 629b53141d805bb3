/**
 * How `--to` becomes a target shape (in process, no child): a manifest version, or `type@major` completed to
 * the whole shape of its entity family from the steps, so `divan migrate --to todo-item@3` and
 * `divan status --to todo-item@3` name the same job.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createStepGraph, type StepGraph } from "../../adapters/path.js";
import type { Shape } from "../../adapters/types.js";
import { isDivanError } from "../../core/errors.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { loadRegistry } from "../../schemas/load.js";
import { defaultMigrationId } from "../../strategies/runner/runner.js";
import { completeTarget, loadSteps, resolveTarget } from "../../server/commands/migrate.js";
import { TODO_APP } from "./support.js";

const graph = createStepGraph(todoSteps);
const registry = await loadRegistry(path.join(TODO_APP, "schemas"));
const manifests = path.join(TODO_APP, "manifests");

async function code(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === "function" ? p() : p);
    return undefined;
  } catch (e) {
    return isDivanError(e) ? e.code : `not a DivanError: ${String(e)}`;
  }
}

describe("--to", () => {
  it("todo-item@3 (or todo-item-status@1) is completed to todo v3's shape; todo-item@1 and @2 are shapes of their own", async () => {
    const v3 = { "todo-item": 3, "todo-item-status": 1 };
    expect(await resolveTarget("todo-item@3", registry, manifests, graph)).toEqual(v3);
    expect(await resolveTarget("todo-item-status@1", registry, manifests, graph)).toEqual(v3);
    expect(await resolveTarget("todo-item@3,todo-item-status@1", registry, manifests, graph)).toEqual(v3);
    expect(await resolveTarget("todo-item@1", registry, manifests, graph)).toEqual({ "todo-item": 1 });
    expect(await resolveTarget("todo-item@2, settings@1", registry, manifests, graph)).toEqual({ "todo-item": 2, settings: 1 });
    // without steps, as given
    expect(await resolveTarget("todo-item@3", registry, manifests)).toEqual({ "todo-item": 3 });
  });

  it("a manifest version resolves to the whole app shape, and names the same job whether the steps are known or not", async () => {
    const app3 = { "todo-item": 3, "todo-item-status": 1, settings: 1 };
    expect(await resolveTarget("3.0.0", registry, manifests, graph)).toEqual(app3);
    expect(await resolveTarget("3.0.0", registry, manifests)).toEqual(app3);
  });

  it("the steps module of the todo app, loaded as the CLI loads it, gives the same completion and job id as migrate", async () => {
    const loaded = await loadSteps(path.join(TODO_APP, "steps/index.ts"));
    const to = await resolveTarget("todo-item@3", registry, manifests, loaded);
    expect(defaultMigrationId(to, { name: "db" } as Parameters<typeof defaultMigrationId>[1], false)).toBe("to-todo-item-3-todo-item-status-1");
  });

  it("refuses a major the schemas do not have, a non type@major entry, an unknown manifest and a contradiction", async () => {
    expect(await code(resolveTarget("todo-item@9", registry, manifests, graph))).toBe("CONFIG_INVALID");
    expect(await code(resolveTarget("todo-item", registry, manifests, graph))).toBe("CONFIG_INVALID");
    expect(await code(resolveTarget("todo-item@x", registry, manifests, graph))).toBe("CONFIG_INVALID");
    expect(await code(resolveTarget("9.9.9", registry, manifests, graph))).toBe("CONFIG_INVALID");
    expect(await code(() => completeTarget({ "todo-item": 3, "todo-item-status": 2 }, graph))).toBe("CONFIG_INVALID");
  });

  it("types no step knows pass unchanged; a type@major in two different shapes must be named in full", async () => {
    expect(await resolveTarget("widget@7", registry, manifests, graph)).toEqual({ widget: 7 });
    const shapes: Shape[] = [{ a: 1, b: 1 }, { a: 1, c: 1 }, { a: 0 }];
    const forked = { shapes: () => shapes } as Pick<StepGraph, "shapes"> as StepGraph;
    expect(await code(() => completeTarget({ a: 1 }, forked))).toBe("CONFIG_INVALID");
    expect(completeTarget({ a: 1, c: 1 }, forked)).toEqual({ a: 1, c: 1 });
    expect(completeTarget({ b: 1 }, forked)).toEqual({ a: 1, b: 1 });
  });
});
