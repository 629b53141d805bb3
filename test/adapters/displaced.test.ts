/**
 * Issue 14 item 6: a step never overwrites or drops an attribute it does not own. An attribute in the way
 * of an operation's output is moved into `divanDisplaced` and put back by the reverse; a function step that
 * would lose one fails with STEP_FAILED naming the attribute.
 */
import { describe, expect, it } from "vitest";
import { DISPLACED_FIELD, type Op } from "../../adapters/ops.js";
import { createStepGraph } from "../../adapters/path.js";
import type { DeclarativeStep } from "../../adapters/steps.js";
import type { Entity, Shape } from "../../adapters/types.js";
import { isDivanError } from "../../core/errors.js";
import { todoItem1to2Typed } from "../../examples/todo-app/steps/1-to-2.js";
import { todoItem2to3 } from "../../examples/todo-app/steps/2-to-3.js";
import { todoShapes, todoSteps } from "../../examples/todo-app/steps/index.js";
import { runMigration } from "../../strategies/runner/runner.js";
import { rollbackMigration } from "../../strategies/runner/verify.js";
import { contents, graph as todoGraph, memoryStore, todoV1, V1, V3 } from "../runner/fixtures.js";

const T = "2024-01-01T00:00:00.000Z";
const weird = (): Entity => ({ "todo-item": { _id: "todo-item:w", _rev: "1-a", schema: "todo-item", version: 1, title: "t", isDone: true, createdAt: T, status: "weird" } });

describe("todo: an unknown attribute that collides with a step's output", () => {
  const graph = createStepGraph(todoSteps);

  it("a todo-item@1 carrying status: weird keeps it through 1→2 and back, and through 1→3 and a rollback", () => {
    const x = weird();
    const v2 = graph.path(todoShapes.v1, todoShapes.v2)(x);
    expect(v2["todo-item"]).toMatchObject({ status: "done", [DISPLACED_FIELD]: { "todo-item 1→2: isDone → status#0/up": { fields: { status: "weird" } } } });
    expect(graph.path(todoShapes.v2, todoShapes.v1)(v2)).toEqual(x);
    const v3 = graph.path(todoShapes.v1, todoShapes.v3)(x);
    expect(v3["todo-item-status"]).toMatchObject({ status: "done" });
    expect(graph.path(todoShapes.v3, todoShapes.v1)(v3)).toEqual(x);
    expect(x).toEqual(weird()); // inputs are never mutated
  });

  it("an in-place migration to 3.0 and a rollback to 1.0 give the colliding attribute back", async () => {
    const s = memoryStore("displaced");
    try {
      const originals = [todoV1(1, { status: "weird" }), todoV1(2)];
      await s.bulkDocs(originals);
      await runMigration({ source: s, plan: { graph: todoGraph, to: V3 } });
      const migrated = await contents(s);
      expect(migrated.find((d) => d._id === "todo-item-status:000001")).toMatchObject({ status: "active" });
      expect(migrated.find((d) => d._id === "todo-item:000001")).toMatchObject({ version: 3, [DISPLACED_FIELD]: expect.any(Object) });
      await rollbackMigration({ mode: "down", source: s, graph: todoGraph, from: V1 });
      expect(await contents(s)).toEqual(originals);
    } finally {
      await s.destroy();
    }
  });

  it("a todo-item@3 carrying isDone and status keeps both through a rollback to 1 and a new migration to 3", () => {
    const y: Entity = {
      "todo-item": { _id: "todo-item:y", schema: "todo-item", version: 3, title: "t", createdAt: T, group: "work", isDone: "mine", status: 7 },
      "todo-item-status": { _id: "todo-item-status:y", schema: "todo-item-status", version: 1, status: "blocked" },
    };
    const v1 = graph.path(todoShapes.v3, todoShapes.v1)(y);
    expect(v1["todo-item"]!["isDone"]).toBe(false);
    expect(graph.path(todoShapes.v1, todoShapes.v3)(v1, { base: y })).toEqual(y);
  });

  it("a typed function step that would overwrite status fails with STEP_FAILED naming the attribute", () => {
    const g = createStepGraph([todoItem1to2Typed, todoItem2to3]);
    try {
      g.path(todoShapes.v1, todoShapes.v2)(weird());
      expect.unreachable();
    } catch (e) {
      expect(isDivanError(e, "STEP_FAILED")).toBe(true);
      expect((e as Error).message).toMatch(/todo-item:w/);
      expect((e as Error).message).toMatch(/\bstatus\b.*"weird"/);
      expect((e as { details: Record<string, unknown> }).details).toMatchObject({ id: "todo-item:w", step: "todo-item 1→2 (typed)", field: "status" });
    }
    // Down, an unknown isDone on a todo-item@2 would be overwritten the same way.
    const v2: Entity = { "todo-item": { _id: "todo-item:w", schema: "todo-item", version: 2, title: "t", status: "active", createdAt: T, isDone: "x" } };
    expect(() => g.path(todoShapes.v2, todoShapes.v1)(v2)).toThrow(expect.objectContaining({ code: "STEP_FAILED", details: expect.objectContaining({ field: "isDone" }) }));
    // Without a collision the check passes.
    const ok = weird();
    delete ok["todo-item"]!["status"];
    expect(g.path(todoShapes.v1, todoShapes.v2)(ok)["todo-item"]).toMatchObject({ status: "done" });
  });

  it("a malformed divanDisplaced is refused with STEP_FAILED, and steps may not name it", () => {
    const x = weird();
    x["todo-item"]![DISPLACED_FIELD] = "mine";
    expect(() => graph.path(todoShapes.v1, todoShapes.v2)(x)).toThrow(expect.objectContaining({ code: "STEP_FAILED", message: expect.stringMatching(/divanDisplaced/) }));
    expect(() => createStepGraph([{ from: { t: 1 }, to: { t: 2 }, ops: [{ op: "rename", from: "a", to: DISPLACED_FIELD }] }])).toThrow(
      expect.objectContaining({ code: "STEP_INVALID" }),
    );
  });
});

describe("every operation kind keeps what is in the way of its output", () => {
  const one = (t: string, body: Record<string, unknown>, version = 1): Entity => ({ [t]: { _id: `${t}:e`, schema: t, version, ...body } });
  const cases: { name: string; op: Op; to?: Shape; from?: Shape; lower: Entity; upper?: Entity }[] = [
    { name: "rename onto an existing attribute", op: { op: "rename", from: "a", to: "b" }, lower: one("t", { a: 1, b: "mine" }) },
    { name: "rename of an absent attribute next to the output", op: { op: "rename", from: "a", to: "b" }, lower: one("t", { b: "mine" }) },
    { name: "add over an existing attribute", op: { op: "add", field: "g", default: "d" }, lower: one("t", { g: 5 }) },
    { name: "remove of a value other than the default", op: { op: "remove", field: "legacy", default: 0 }, lower: one("t", { legacy: 7 }) },
    { name: "remove of an absent attribute", op: { op: "remove", field: "legacy", default: 0 }, lower: one("t", { a: 1 }) },
    { name: "convert onto an existing attribute", op: { op: "convert", field: "x", to: "y", forward: [[1, "one"]], backward: [["one", 1]] }, lower: one("t", { x: 1, y: "mine" }) },
    { name: "wrap into a container holding a wrapped name", op: { op: "wrap", fields: ["lat"], into: "pos" }, lower: one("t", { lat: 1, pos: { lat: "mine", k: 2 } }) },
    { name: "wrap into an existing empty container", op: { op: "wrap", fields: ["lat"], into: "pos" }, lower: one("t", { lat: 1, pos: {} }) },
    { name: "wrap with none of its fields", op: { op: "wrap", fields: ["lat"], into: "pos" }, lower: one("t", { a: 1 }) },
    { name: "wrap into a non-object", op: { op: "wrap", fields: ["lat"], into: "pos" }, lower: one("t", { lat: 1, pos: "here" }) },
    { name: "hoist next to an existing attribute", op: { op: "hoist", from: "meta", fields: ["owner"] }, lower: one("t", { owner: "top", meta: { owner: "ann" } }) },
    { name: "hoist without the container", op: { op: "hoist", from: "meta", fields: ["owner"] }, lower: one("t", { a: 1 }) },
    { name: "hoist from an empty container", op: { op: "hoist", from: "meta", fields: ["owner"] }, lower: one("t", { meta: {} }) },
    {
      name: "merge onto an existing attribute, keeping the merged document's own attributes",
      op: { op: "merge", type: "t", from: "u", fields: ["s"] },
      from: { t: 1, u: 1 },
      to: { t: 2 },
      lower: { ...one("t", { s: "mine" }), ...one("u", { s: "done", note: "kept" }) },
    },
    {
      name: "extract back onto an item that has the extracted name",
      op: { op: "extract", fields: ["s"], into: "u" },
      to: { t: 2, u: 1 },
      lower: one("t", { s: "done" }),
      upper: { ...one("t", { s: "mine" }, 2), ...one("u", { s: "done" }) },
    },
  ];
  for (const c of cases) {
    it(`${c.op.op}: ${c.name}`, () => {
      const from = c.from ?? { t: 1 };
      const to = c.to ?? { t: 2 };
      const step: DeclarativeStep = { from, to, ops: [c.op] };
      const g = createStepGraph([step]);
      const up = g.path(from, to);
      const down = g.path(to, from);
      expect(down(up(c.lower))).toEqual(c.lower);
      if (c.upper !== undefined) expect(up(down(c.upper), { base: c.upper })).toEqual(c.upper);
    });
  }
});
