import { describe, expect, it } from "vitest";
import { OP_KINDS, reverseOp, type Op } from "../../adapters/ops.js";
import { createStepGraph } from "../../adapters/path.js";
import { reverseStep, type DeclarativeStep } from "../../adapters/steps.js";
import type { Entity } from "../../adapters/types.js";
import { isDivanError } from "../../core/errors.js";

/** Translate `entity` through a one-step graph `t@1 → t@2` (plus `u@1` when the op makes a second type). */
function run(ops: Op[], to: Record<string, number>, entity: Entity, dir: "up" | "down", base?: Entity): Entity {
  const step: DeclarativeStep = { from: { t: 1 }, to, ops };
  const g = createStepGraph([step]);
  const p = dir === "up" ? g.path({ t: 1 }, to) : g.path(to, { t: 1 });
  return p(entity, base === undefined ? {} : { base });
}

const v1 = (body: Record<string, unknown>): Entity => ({ t: { _id: "t:e1", _rev: "1-a", schema: "t", version: 1, ...body } });
const v2 = (body: Record<string, unknown>): Entity => ({ t: { _id: "t:e1", _rev: "1-a", schema: "t", version: 2, ...body } });

describe("reverse of every operation kind, against hand-written expectations", () => {
  const cases: { op: Op; reverse: Op; up: [Entity, Entity]; down: [Entity, Entity]; to?: Record<string, number> }[] = [
    {
      op: { op: "rename", type: "t", from: "done", to: "isDone" },
      reverse: { op: "rename", type: "t", from: "isDone", to: "done" },
      up: [v1({ done: true, x: 1 }), v2({ x: 1, isDone: true })],
      down: [v2({ isDone: false, x: 2 }), v1({ x: 2, done: false })],
    },
    {
      op: { op: "add", type: "t", field: "group", default: "default" },
      reverse: { op: "remove", type: "t", field: "group", default: "default" },
      up: [v1({ a: 1 }), v2({ a: 1, group: "default" })],
      down: [v2({ a: 1, group: "work" }), v1({ a: 1 })],
    },
    {
      op: { op: "remove", type: "t", field: "legacy", default: 0 },
      reverse: { op: "add", type: "t", field: "legacy", default: 0 },
      up: [v1({ a: 1, legacy: 7 }), v2({ a: 1, divanDisplaced: { "t@1->t@2#0/up": { fields: { legacy: 7 } } } })], // kept for the way back
      down: [v2({ a: 1 }), v1({ a: 1, legacy: 0 })],
    },
    {
      op: { op: "convert", type: "t", field: "isDone", to: "status", forward: [[true, "done"], [false, "active"]], backward: [["done", true], ["active", false], ["blocked", false]] },
      reverse: { op: "convert", type: "t", field: "status", to: "isDone", forward: [["done", true], ["active", false], ["blocked", false]], backward: [[true, "done"], [false, "active"]] },
      up: [v1({ isDone: true }), v2({ status: "done" })],
      down: [v2({ status: "blocked" }), v1({ isDone: false })],
    },
    {
      op: { op: "wrap", type: "t", fields: ["lat", "lng"], into: "position" },
      reverse: { op: "hoist", type: "t", from: "position", fields: ["lat", "lng"] },
      up: [v1({ lat: 1, lng: 2, name: "n" }), v2({ name: "n", position: { lat: 1, lng: 2 } })],
      down: [v2({ position: { lat: 3, lng: 4 }, name: "m" }), v1({ name: "m", lat: 3, lng: 4 })],
    },
    {
      op: { op: "hoist", type: "t", from: "meta", fields: ["owner"] },
      reverse: { op: "wrap", type: "t", fields: ["owner"], into: "meta" },
      up: [v1({ meta: { owner: "ann", keep: 1 } }), v2({ meta: { keep: 1 }, owner: "ann" })],
      down: [v2({ owner: "bob" }), v1({ meta: { owner: "bob" } })],
    },
    {
      op: { op: "extract", type: "t", fields: ["status"], into: "u" },
      reverse: { op: "merge", type: "t", from: "u", fields: ["status"] },
      to: { t: 2, u: 1 },
      up: [v1({ title: "a", status: "done" }), { ...v2({ title: "a" }), u: { _id: "u:e1", schema: "u", version: 1, status: "done" } }],
      down: [{ ...v2({ title: "b" }), u: { _id: "u:e1", _rev: "4-u", schema: "u", version: 1, status: "blocked" } }, v1({ title: "b", status: "blocked" })],
    },
  ];

  for (const c of cases) {
    it(`${c.op.op}: reverse is ${c.reverse.op}, and both directions translate as written`, () => {
      expect(reverseOp(c.op)).toEqual(c.reverse);
      expect(reverseOp(c.reverse)).toEqual(c.op);
      const to = c.to ?? { t: 2 };
      expect(run([c.op], to, c.up[0], "up")).toEqual(c.up[1]);
      expect(run([c.op], to, c.down[0], "down")).toEqual(c.down[1]);
    });
  }

  it("merge (N→1) is the reverse of extract, and a step made of merge translates as written", () => {
    const op: Op = { op: "merge", type: "t", from: "u", fields: ["status"] };
    expect(reverseOp(op)).toEqual({ op: "extract", type: "t", fields: ["status"], into: "u" });
    const step: DeclarativeStep = { from: { t: 1, u: 1 }, to: { t: 2 }, ops: [op] };
    const g = createStepGraph([step]);
    const merged = g.path({ t: 1, u: 1 }, { t: 2 })({ t: { _id: "t:9", schema: "t", version: 1, a: 1 }, u: { _id: "u:9", schema: "u", version: 1, status: "done" } });
    expect(merged).toEqual({ t: { _id: "t:9", schema: "t", version: 2, a: 1, status: "done" } });
    expect(g.path({ t: 2 }, { t: 1, u: 1 })(merged)).toEqual({ t: { _id: "t:9", schema: "t", version: 1, a: 1 }, u: { _id: "u:9", schema: "u", version: 1, status: "done" } });
  });

  it("every operation kind has a case above", () => {
    expect(new Set(cases.flatMap((c) => [c.op.op, c.reverse.op]))).toEqual(new Set(OP_KINDS));
  });

  it("reverseStep inverts the operations in reverse order", () => {
    const s: DeclarativeStep = { name: "s", from: { t: 1 }, to: { t: 2 }, ops: [{ op: "rename", type: "t", from: "a", to: "b" }, { op: "add", type: "t", field: "c", default: 1 }] };
    expect(reverseStep(s)).toEqual({
      name: "reverse(s)",
      from: { t: 2 },
      to: { t: 1 },
      ops: [{ op: "remove", type: "t", field: "c", default: 1 }, { op: "rename", type: "t", from: "b", to: "a" }],
    });
  });
});

describe("operations with a base", () => {
  it("add takes the base value, convert keeps a base value that maps back, extract starts from the base document", () => {
    const convert: Op = { op: "convert", field: "isDone", to: "status", forward: [[true, "done"], [false, "active"]], backward: [["done", true], ["active", false], ["blocked", false]] };
    const base = v2({ status: "blocked" });
    expect(run([convert], { t: 2 }, v1({ isDone: false }), "up", base)).toEqual(v2({ status: "blocked" }));
    expect(run([convert], { t: 2 }, v1({ isDone: true }), "up", base)).toEqual(v2({ status: "done" }));
    expect(run([{ op: "add", field: "g", default: "d" }], { t: 2 }, v1({}), "up", v2({ g: "work" }))).toEqual(v2({ g: "work" }));
    const extracted = run([{ op: "extract", fields: ["s"], into: "u" }], { t: 2, u: 1 }, v1({ s: 1 }), "up", {
      ...v2({}),
      u: { _id: "u:e1", _rev: "3-u", schema: "u", version: 1, s: 0, note: "kept" },
    });
    expect(extracted["u"]).toEqual({ _id: "u:e1", _rev: "3-u", schema: "u", version: 1, s: 1, note: "kept" });
  });

  it("a value missing from a convert table fails the step with STEP_FAILED naming document and step", () => {
    const convert: Op = { op: "convert", field: "isDone", forward: [[true, "yes"]], backward: [["yes", true]] };
    try {
      run([convert], { t: 2 }, v1({ isDone: "maybe" }), "up");
      expect.unreachable();
    } catch (e) {
      expect(isDivanError(e, "STEP_FAILED")).toBe(true);
      expect((e as Error).message).toMatch(/t:e1/);
      expect((e as Error).message).toMatch(/"maybe"/);
      expect((e as { details: Record<string, unknown> }).details).toMatchObject({ id: "t:e1", step: "t@1->t@2" });
    }
  });
});

describe("step checks (STEP_INVALID)", () => {
  const bad: [string, DeclarativeStep][] = [
    ["unknown op", { from: { t: 1 }, to: { t: 2 }, ops: [{ op: "explode" } as unknown as Op] }],
    ["reserved field", { from: { t: 1 }, to: { t: 2 }, ops: [{ op: "rename", from: "_rev", to: "rev" }] }],
    ["version field", { from: { t: 1 }, to: { t: 2 }, ops: [{ op: "remove", field: "version", default: 1 }] }],
    ["missing type with several source types", { from: { t: 1, u: 1 }, to: { t: 2, u: 1 }, ops: [{ op: "add", field: "a", default: 1 }] }],
    ["extract into a type outside the target", { from: { t: 1 }, to: { t: 2 }, ops: [{ op: "extract", fields: ["a"], into: "u" }] }],
    ["types do not match the target shape", { from: { t: 1 }, to: { t: 2, u: 1 }, ops: [] }],
    ["add without default", { from: { t: 1 }, to: { t: 2 }, ops: [{ op: "add", field: "a" } as unknown as Op] }],
  ];
  for (const [name, step] of bad) {
    it(`rejects ${name}`, () => {
      expect(() => createStepGraph([step])).toThrow(expect.objectContaining({ code: "STEP_INVALID" }));
    });
  }
});
