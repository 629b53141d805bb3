import { describe, expect, it } from "vitest";
import { formatDocId, multiVersionIds, parseDocId, singleVersionIds } from "../../adapters/ids.js";
import { createStepGraph } from "../../adapters/path.js";
import { documentStep } from "../../adapters/steps.js";
import type { Entity } from "../../adapters/types.js";
import { isDivanError } from "../../core/errors.js";
import { todoSteps, todoShapes } from "../../examples/todo-app/steps/index.js";
import type { TodoItemV1, TodoItemV3 } from "../../examples/todo-app/types.js";

const graph = createStepGraph(todoSteps);
const v3Entity = (): Entity => ({
  "todo-item": { _id: "todo-item:e1", _rev: "7-item", schema: "todo-item", version: 3, title: "Buy milk", isImportant: true, createdAt: "2024-01-01T00:00:00.000Z", group: "work", note: "from 3.0" },
  "todo-item-status": { _id: "todo-item-status:e1", _rev: "2-status", schema: "todo-item-status", version: 1, status: "blocked", by: "ann" },
});

describe("document ids", () => {
  it("parses and formats entity, multi-version and singleton ids", () => {
    expect(parseDocId("todo-item:8f5e")).toEqual({ type: "todo-item", entityId: "8f5e", version: undefined });
    expect(parseDocId("todo-item:8f5e:v:3")).toEqual({ type: "todo-item", entityId: "8f5e", version: 3 });
    expect(parseDocId("settings")).toEqual({ type: "settings", entityId: undefined, version: undefined });
    expect(parseDocId("settings:v:1")).toEqual({ type: "settings", entityId: undefined, version: 1 });
    expect(parseDocId("a:b:c")).toEqual({ type: "a", entityId: "b:c", version: undefined });
    expect(parseDocId("_design/x")).toBeUndefined();
    expect(parseDocId(":x")).toBeUndefined();
    expect(formatDocId("todo-item-status", "8f5e")).toBe("todo-item-status:8f5e");
    expect(formatDocId("todo-item", "8f5e", 2)).toBe("todo-item:8f5e:v:2");
    expect(formatDocId("settings", undefined, 1)).toBe("settings:v:1");
    expect(singleVersionIds.parse("todo-item:x:v:1")).toBeUndefined();
    expect(multiVersionIds.parse("todo-item:x")).toBeUndefined();
  });
});

describe("todo paths", () => {
  it("legacy forever: a v3 todo (group work, blocked) edited by app 1.0 keeps its group and status", () => {
    const stored = v3Entity();
    const down = graph.path(todoShapes.v3, todoShapes.v1);
    const up = graph.path(todoShapes.v1, todoShapes.v3);
    const seenByOldApp = down(stored)["todo-item"] as TodoItemV1;
    expect(seenByOldApp).toEqual({ _id: "todo-item:e1", _rev: "7-item", schema: "todo-item", version: 1, title: "Buy milk", isImportant: true, createdAt: "2024-01-01T00:00:00.000Z", note: "from 3.0", isDone: false });
    const edited: TodoItemV1 = { ...seenByOldApp, title: "Buy oat milk" }; // what app 1.0 writes
    const out = up({ "todo-item": edited }, { base: stored });
    const item = out["todo-item"] as TodoItemV3;
    expect(item).toEqual({ ...stored["todo-item"], title: "Buy oat milk" });
    expect(item.group).toBe("work");
    expect(out["todo-item-status"]).toEqual(stored["todo-item-status"]); // status blocked, rev and unknown attribute kept
    expect(stored).toEqual(v3Entity()); // the base is not mutated
  });

  it("1→2 toggles: isDone true gives done, false from done gives active, unchanged keeps the base status", () => {
    const up = graph.path(todoShapes.v1, todoShapes.v2);
    const v1 = (isDone: boolean): Entity => ({ "todo-item": { _id: "todo-item:e", schema: "todo-item", version: 1, title: "t", isDone, createdAt: "2024-01-01T00:00:00.000Z" } });
    const v2 = (status: string): Entity => ({ "todo-item": { _id: "todo-item:e", schema: "todo-item", version: 2, title: "t", status, createdAt: "2024-01-01T00:00:00.000Z" } });
    const status = (e: Entity): unknown => e["todo-item"]!["status"];
    expect(status(up(v1(true), { base: v2("blocked") }))).toBe("done");
    expect(status(up(v1(false), { base: v2("done") }))).toBe("active");
    expect(status(up(v1(false), { base: v2("rejected") }))).toBe("rejected");
    expect(status(up(v1(true), { base: v2("done") }))).toBe("done");
    expect(status(up(v1(false)))).toBe("active");
  });

  it("2→3 without base creates the status document with its own id and no _rev; the item keeps its _rev", () => {
    const out = graph.path(todoShapes.v2, todoShapes.v3)({
      "todo-item": { _id: "todo-item:e2", _rev: "3-x", schema: "todo-item", version: 2, title: "t", status: "done", createdAt: "2024-01-01T00:00:00.000Z" },
    });
    expect(out).toEqual({
      "todo-item": { _id: "todo-item:e2", _rev: "3-x", schema: "todo-item", version: 3, title: "t", createdAt: "2024-01-01T00:00:00.000Z", group: "default" },
      "todo-item-status": { _id: "todo-item-status:e2", schema: "todo-item-status", version: 1, status: "done" },
    });
    expect(Object.keys(out["todo-item-status"]!)[0]).toBe("_id");
  });

  it("multi-version ids: every output gets :v:<n>, a _rev only from the base document with that id", () => {
    const g = createStepGraph(todoSteps, { ids: multiVersionIds });
    const up = g.path(todoShapes.v1, todoShapes.v3);
    const v1: Entity = { "todo-item": { _id: "todo-item:e3:v:1", _rev: "1-a", schema: "todo-item", version: 1, title: "t", isDone: true, createdAt: "2024-01-01T00:00:00.000Z" } };
    const out = up(v1);
    expect(out["todo-item"]!._id).toBe("todo-item:e3:v:3");
    expect(out["todo-item"]!._rev).toBeUndefined();
    expect(out["todo-item-status"]!._id).toBe("todo-item-status:e3:v:1");
    const withBase = up(v1, { base: { "todo-item": { ...out["todo-item"]!, _rev: "4-b" }, "todo-item-status": { ...out["todo-item-status"]!, _rev: "1-s" } } });
    expect(withBase["todo-item"]!._rev).toBe("4-b");
    expect(withBase["todo-item-status"]!._rev).toBe("1-s");
  });

  it("tombstones translate to tombstones of the stored target documents", () => {
    const stored = v3Entity();
    const up = graph.path(todoShapes.v1, todoShapes.v3);
    expect(up({ "todo-item": { _id: "todo-item:e1", _rev: "8-del", _deleted: true } }, { base: stored })).toEqual({
      "todo-item": { _id: "todo-item:e1", _rev: "8-del", _deleted: true },
      "todo-item-status": { _id: "todo-item-status:e1", _rev: "2-status", _deleted: true },
    });
    expect(graph.path(todoShapes.v3, todoShapes.v2)({ "todo-item": { _id: "todo-item:e1", _rev: "8-del", _deleted: true } })).toEqual({
      "todo-item": { _id: "todo-item:e1", _rev: "8-del", _deleted: true },
    });
  });

  it("_attachments stay on their document", () => {
    const att = { "a.txt": { stub: true, digest: "md5-x", content_type: "text/plain", length: 1 } };
    const out = graph.path(todoShapes.v1, todoShapes.v3)({ "todo-item": { _id: "todo-item:e", _rev: "1-a", _attachments: att, schema: "todo-item", version: 1, title: "t", isDone: false, createdAt: "2024-01-01T00:00:00.000Z" } });
    expect(out["todo-item"]!._attachments).toEqual(att);
    expect(out["todo-item-status"]!._attachments).toBeUndefined();
  });

  it("a missing contributing document fails with STEP_FAILED naming it (Marten: the status has not replicated yet)", () => {
    const down = graph.path(todoShapes.v3, todoShapes.v2);
    const { ["todo-item-status"]: _status, ...onlyItem } = v3Entity();
    try {
      down(onlyItem);
      expect.unreachable();
    } catch (e) {
      expect(isDivanError(e, "STEP_FAILED")).toBe(true);
      expect((e as Error).message).toMatch(/todo-item-status/);
      expect((e as { details: Record<string, unknown> }).details["id"]).toBe("todo-item:e1");
    }
    expect(() => down({ ...v3Entity(), extra: { _id: "extra:e1" } })).toThrow(/unexpected extra/);
    expect(() => graph.path(todoShapes.v2, todoShapes.v3)(v3Entity())).toThrow(expect.objectContaining({ code: "STEP_FAILED" }));
  });

  it("a throwing function step fails with STEP_FAILED carrying the step, the id and the cause", () => {
    const boom = new Error("boom");
    const g = createStepGraph([
      documentStep<TodoItemV1, TodoItemV1>("todo-item", 1, 2, {
        name: "explodes",
        up: () => {
          throw boom;
        },
        down: (d) => d,
      }),
    ]);
    try {
      g.path({ "todo-item": 1 }, { "todo-item": 2 })({ "todo-item": { _id: "todo-item:z", schema: "todo-item", version: 1 } });
      expect.unreachable();
    } catch (e) {
      expect(isDivanError(e, "STEP_FAILED")).toBe(true);
      expect(e).toMatchObject({ details: { id: "todo-item:z", step: "explodes" }, cause: boom });
    }
  });

  it("NO_PATH names the missing link", () => {
    expect(() => graph.path(todoShapes.v1, { "todo-item": 4 })).toThrow(expect.objectContaining({ code: "NO_PATH", message: expect.stringMatching(/todo-item@4/) }));
    const gap = createStepGraph([todoSteps[1]!, { from: { "todo-item": 4 }, to: { "todo-item": 5 }, ops: [] }]);
    expect(() => gap.path({ "todo-item": 3, "todo-item-status": 1 }, { "todo-item": 4 })).toThrow(/no step starts or ends at todo-item@4|no chain/);
    const split = createStepGraph([todoSteps[0]!, { from: { "todo-item": 3 }, to: { "todo-item": 4 }, ops: [] }]);
    expect(() => split.path({ "todo-item": 1 }, { "todo-item": 4 })).toThrow(expect.objectContaining({ code: "NO_PATH", message: expect.stringMatching(/todo-item@1 to todo-item@4.*todo-item@2/) }));
    expect(() => graph.path({ settings: 1 }, { settings: 2 })).toThrow(expect.objectContaining({ code: "NO_PATH", message: expect.stringMatching(/settings@1 to settings@2/) }));
  });

  it("manifest shapes route each entity through its family; unknown-step types translate as themselves", () => {
    const p = graph.path({ "todo-item": 3, "todo-item-status": 1, settings: 1 }, { "todo-item": 1, settings: 1 });
    expect(p.direction).toBe("down");
    expect(p.steps).toEqual(["todo-item 2→3: extract status, add group", "todo-item 1→2: isDone → status"]);
    expect(p(v3Entity())["todo-item"]!["isDone"]).toBe(false);
    const settings = { settings: { _id: "settings", _rev: "1-s", schema: "settings", version: 1, color: "#ffffff" } };
    expect(p(settings)).toEqual(settings);
    expect(graph.path(todoShapes.v1, todoShapes.v1).direction).toBe("identity");
    expect(graph.path(todoShapes.v1, todoShapes.v3)).toBe(graph.path(todoShapes.v1, todoShapes.v3)); // compiled once
  });

  it("contributors: which source documents make each target document", () => {
    expect(graph.contributors(todoShapes.v2, todoShapes.v3)).toEqual({
      "todo-item": [{ type: "todo-item", version: 2 }],
      "todo-item-status": [{ type: "todo-item", version: 2 }],
    });
    expect(graph.contributors(todoShapes.v3, todoShapes.v1)).toEqual({
      "todo-item": [
        { type: "todo-item", version: 3 },
        { type: "todo-item-status", version: 1 },
      ],
    });
  });
});
