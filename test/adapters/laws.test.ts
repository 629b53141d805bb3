/**
 * Step and path laws, property-tested on documents generated from the todo JSON Schemas
 * (issue 5): outputs validate; down(up(x)) = x; up(down(y), base y) = y; a translation
 * applied to its own output's reverse is stable. ≥1000 cases per step and per todo path.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { createStepGraph, type StepGraph } from "../../adapters/path.js";
import type { StepDefinition } from "../../adapters/steps.js";
import type { Entity, Shape } from "../../adapters/types.js";
import { loadRegistry } from "../../schemas/load.js";
import type { Registry } from "../../schemas/registry.js";
import { todoItem1to2, todoItem1to2Typed } from "../../examples/todo-app/steps/1-to-2.js";
import { todoItem2to3 } from "../../examples/todo-app/steps/2-to-3.js";
import { todoShapes } from "../../examples/todo-app/steps/index.js";
import { arbitraryFromSchema } from "../../schemas/arbitrary.js";

const RUNS = 1000;
let registry: Registry;

beforeAll(async () => {
  registry = await loadRegistry(join(import.meta.dirname, "../../examples/todo-app/schemas"));
});

const entityIdArb = fc.stringMatching(/^[0-9a-f]{8,32}$/);

/** Arbitrary entities at `shape`, every document valid against its schema, with unknown attributes. */
const entityArbs = new Map<string, fc.Arbitrary<Entity>>();
function entityAt(shape: Shape): fc.Arbitrary<Entity> {
  const key = JSON.stringify(shape);
  const hit = entityArbs.get(key);
  if (hit !== undefined) return hit;
  const docs: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [type, major] of Object.entries(shape)) {
    docs[type] = arbitraryFromSchema(registry.schema(type, major).schema, { unknownKeys: 2 });
  }
  // Build the arbitraries once (not inside chain: compiling patterns per case is slow); ids share one entity id.
  const arb = fc.tuple(entityIdArb, fc.record(docs)).map(([eid, entity]) => {
    const out: Entity = {};
    for (const [type, doc] of Object.entries(entity)) out[type] = { ...(doc as Record<string, unknown>), _id: `${type}:${eid}` };
    return out;
  });
  entityArbs.set(key, arb);
  return arb;
}

function expectValidAt(entity: Entity, shape: Shape): void {
  expect(Object.keys(entity).sort()).toEqual(Object.keys(shape).sort());
  for (const [type, doc] of Object.entries(entity)) {
    const r = registry.validate(doc);
    expect(r, JSON.stringify({ doc, r })).toMatchObject({ ok: true, type, version: shape[type] });
  }
}

/** The four laws for the pair of shapes (lower, upper) in `graph`. */
function laws(name: string, graph: () => StepGraph, lower: Shape, upper: Shape): void {
  describe(name, () => {
    it(`outputs validate against the target schemas, both ways (${RUNS} cases each)`, () => {
      const up = graph().path(lower, upper);
      const down = graph().path(upper, lower);
      fc.assert(fc.property(entityAt(lower), (x) => {
        expectValidAt(up(x), upper);
      }), { numRuns: RUNS });
      fc.assert(fc.property(entityAt(upper), (y) => {
        expectValidAt(down(y), lower);
      }), { numRuns: RUNS });
    });

    it(`down(up(x)) gives back x, every field and unknown attribute (${RUNS} cases)`, () => {
      const up = graph().path(lower, upper);
      const down = graph().path(upper, lower);
      fc.assert(
        fc.property(entityAt(lower), (x) => {
          const before = structuredClone(x);
          expect(down(up(x))).toEqual(x);
          expect(x).toEqual(before); // inputs are never mutated
        }),
        { numRuns: RUNS },
      );
    });

    it(`up(down(y), { base: y }) equals y (${RUNS} cases)`, () => {
      const up = graph().path(lower, upper);
      const down = graph().path(upper, lower);
      fc.assert(
        fc.property(entityAt(upper), (y) => {
          const before = structuredClone(y);
          expect(up(down(y), { base: y })).toEqual(y);
          expect(y).toEqual(before);
        }),
        { numRuns: RUNS },
      );
    });

    it(`a translation applied to its own output's reverse is stable (${RUNS} cases each)`, () => {
      const up = graph().path(lower, upper);
      const down = graph().path(upper, lower);
      fc.assert(fc.property(entityAt(lower), (x) => {
        expect(up(down(up(x)))).toEqual(up(x));
      }), { numRuns: RUNS });
      fc.assert(fc.property(entityAt(upper), (y) => {
        expect(down(up(down(y)))).toEqual(down(y));
      }), { numRuns: RUNS });
    });
  });
}

const declarative: StepDefinition[] = [todoItem1to2, todoItem2to3];
const typed: StepDefinition[] = [todoItem1to2Typed, todoItem2to3];
let declarativeGraph: StepGraph;
let typedGraph: StepGraph;
beforeAll(() => {
  declarativeGraph = createStepGraph(declarative);
  typedGraph = createStepGraph(typed);
});

// Every step on its own.
laws("step todo-item 1→2 (declarative convert)", () => createStepGraph([todoItem1to2]), todoShapes.v1, todoShapes.v2);
laws("step todo-item 1→2 (typed functions)", () => createStepGraph([todoItem1to2Typed]), todoShapes.v1, todoShapes.v2);
laws("step todo-item 2→3 (extract + add)", () => createStepGraph([todoItem2to3]), todoShapes.v2, todoShapes.v3);
// Every todo path that composes steps.
laws("path todo 1→3 (declarative)", () => declarativeGraph, todoShapes.v1, todoShapes.v3);
laws("path todo 1→3 (typed 1→2)", () => typedGraph, todoShapes.v1, todoShapes.v3);

describe("no information loss through old versions", () => {
  it(`an old edit keeps group, status document and unknown attributes; isDone toggles map to done/active (${RUNS} cases)`, () => {
    const down = declarativeGraph.path(todoShapes.v3, todoShapes.v1);
    const up = declarativeGraph.path(todoShapes.v1, todoShapes.v3);
    fc.assert(
      fc.property(entityAt(todoShapes.v3), fc.string({ maxLength: 64 }), fc.boolean(), (y, title, toggle) => {
        const old = down(y)["todo-item"]!;
        const edited = { ...old, title, isDone: toggle ? !(old["isDone"] as boolean) : old["isDone"] };
        const out = up({ "todo-item": edited }, { base: y });
        const item = out["todo-item"]!;
        const status = out["todo-item-status"]!;
        expect(item["title"]).toBe(title);
        expect(item["group"]).toBe(y["todo-item"]!["group"]);
        expect(item._rev).toBe(y["todo-item"]!._rev);
        const baseStatus = y["todo-item-status"]!;
        expect(status).toEqual({ ...baseStatus, status: toggle ? (edited.isDone === true ? "done" : "active") : baseStatus["status"] });
        expectValidAt(out, todoShapes.v3);
      }),
      { numRuns: RUNS },
    );
  });

  it(`the typed and the declarative 1→2 steps agree, with and without base (${RUNS} cases)`, () => {
    const a = declarativeGraph.path(todoShapes.v1, todoShapes.v2);
    const b = typedGraph.path(todoShapes.v1, todoShapes.v2);
    fc.assert(
      fc.property(entityAt(todoShapes.v1), fc.option(entityAt(todoShapes.v2), { nil: undefined }), (x, base) => {
        const opts = base === undefined ? {} : { base };
        expect(b(x, opts)).toEqual(a(x, opts));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("property failures are reproducible", () => {
  it("a failing property reports its seed and counterexample", () => {
    const details = fc.check(fc.property(fc.integer(), (n) => n < 10), { seed: 42 });
    expect(details.failed).toBe(true);
    const report = fc.defaultReportMessage(details) ?? "";
    expect(report).toMatch(/seed: 42/);
    expect(report).toMatch(/Counterexample/);
  });
});
