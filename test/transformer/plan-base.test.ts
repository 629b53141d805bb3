import { describe, expect, it } from "vitest";
import { singleVersionIds } from "../../adapters/ids.js";
import { createStepGraph, type CompiledPath, type TranslateOptions } from "../../adapters/path.js";
import type { Entity } from "../../adapters/types.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { planEntity, type PlanInput, type ReadDoc } from "../../strategies/transformer/plan.js";

const graph = createStepGraph(todoSteps);
const v1 = { "todo-item": 1 };
const v3 = { "todo-item": 3, "todo-item-status": 1 };

/** The compiled path, recording the options of every call. */
function recording(path: CompiledPath): { path: CompiledPath; calls: (TranslateOptions | undefined)[] } {
  const calls: (TranslateOptions | undefined)[] = [];
  const wrapped = Object.assign((e: Entity, o?: TranslateOptions) => {
    calls.push(o);
    return path(e, o);
  }, path) as CompiledPath;
  return { path: wrapped, calls };
}

const v1Doc = { _id: "todo-item:e1", _rev: "1-a", schema: "todo-item", version: 1, title: "t", isDone: true, createdAt: "c" };

function input(path: CompiledPath, targetDocs: Record<string, ReadDoc>, source: Record<string, unknown> = v1Doc): PlanInput {
  return {
    entity: { family: "todo-item", entityId: "e1" },
    source: "v1",
    target: "v3",
    sourceDocs: { "todo-item": { state: "live", doc: { ...source, _id: "todo-item:e1" } } },
    targetDocs,
    from: v1,
    to: v3,
    path,
    reversePath: graph.path(v3, v1),
    ids: singleVersionIds,
    typeField: "schema",
    versionField: "version",
    sourceRank: 0,
    targetRank: 2,
  };
}

describe("planEntity's base", () => {
  it("translates into a target holding none of the entity's documents without a base (as the runner does)", () => {
    const r = recording(graph.path(v1, v3));
    const plan = planEntity(input(r.path, { "todo-item": { state: "missing", id: "todo-item:e1" }, "todo-item-status": { state: "missing", id: "todo-item-status:e1" } }));
    expect(r.calls).toEqual([undefined]);
    expect(plan.kind).toBe("write");
    const docs = plan.kind === "write" ? plan.writes.map((w) => w.doc) : [];
    expect(docs.map((d) => [d._id, d["group"] ?? d["status"]])).toEqual([
      ["todo-item:e1", "default"],
      ["todo-item-status:e1", "done"],
    ]);
    expect(docs.every((d) => d._rev === undefined)).toBe(true);
  });

  it("passes the target's documents as the base when it has some (the group set in v3 survives)", () => {
    const r = recording(graph.path(v1, v3));
    const item = { _id: "todo-item:e1", _rev: "2-x", schema: "todo-item", version: 3, title: "old", group: "work", createdAt: "c" };
    const status = { _id: "todo-item-status:e1", _rev: "1-y", schema: "todo-item-status", version: 1, status: "blocked" };
    // The v1 document is an edit of what the transformer wrote from these v3 revisions (a fast-forward).
    const edited = { ...v1Doc, _rev: "2-b", divan: { from: "v3", id: item._id, rev: item._rev, revs: { [item._id]: item._rev, [status._id]: status._rev }, step: "s", hash: "edited since" } };
    const plan = planEntity(input(r.path, { "todo-item": { state: "live", doc: item }, "todo-item-status": { state: "live", doc: status } }, edited));
    expect(r.calls).toHaveLength(1);
    expect(Object.keys(r.calls[0]?.base ?? {}).sort()).toEqual(["todo-item", "todo-item-status"]);
    const docs = plan.kind === "write" ? plan.writes.map((w) => w.doc) : [];
    expect(docs.find((d) => d._id === "todo-item:e1")).toMatchObject({ title: "t", group: "work", _rev: "2-x" });
    expect(docs.find((d) => d._id === "todo-item-status:e1")).toMatchObject({ status: "done", _rev: "1-y" });
  });
});
