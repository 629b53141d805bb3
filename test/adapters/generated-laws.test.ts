/**
 * Issue 14 item 10: the lens laws for every operation kind, on random schemas and random legal chains of
 * declarative steps (test/support/lenses.ts), with random documents of those schemas whose unknown attributes
 * take the names operations write:
 *
 * - outputs validate against the target schemas, both ways;
 * - `down(up(x))` is `x` (no base);
 * - `up(down(y), { base: y })` is `y`;
 * - inputs are never mutated.
 *
 * Each step and the whole chain are checked. fast-check prints the seed and path of a failure; the
 * counterexamples found are kept below as regular tests. `DIVAN_LAW_RUNS` raises the number of cases.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { ValidateFunction } from "ajv";
import { DISPLACED_FIELD, OP_KINDS, type Op } from "../../adapters/ops.js";
import { createStepGraph } from "../../adapters/path.js";
import type { DeclarativeStep } from "../../adapters/steps.js";
import type { Entity, Shape } from "../../adapters/types.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import { arbitraryFromSchema } from "../../schemas/arbitrary.js";
import { buildCase, FIELD_NAMES, lensCase, type LensCase } from "../support/lenses.js";

const RUNS = Number(process.env["DIVAN_LAW_RUNS"] ?? 300);
/**
 * One ajv per case: an ajv instance keeps every schema it compiled, so one for all cases grows without end.
 * A plain one (no formats: the generated schemas use none), as divan's own is costly to create.
 */
const validators = new WeakMap<LensCase, { ajv: Ajv2020; byKey: Map<string, ValidateFunction> }>();
function validatorOf(lens: LensCase, key: string): ValidateFunction {
  let c = validators.get(lens);
  if (c === undefined) validators.set(lens, (c = { ajv: new Ajv2020({ strict: false, allErrors: true }), byKey: new Map() }));
  let v = c.byKey.get(key);
  if (v === undefined) c.byKey.set(key, (v = c.ajv.compile(lens.schemas.get(key)!)));
  return v;
}

const UNKNOWN_NAMES = [...FIELD_NAMES, "m", "n", "k"];
const entityId = fc.stringMatching(/^[0-9a-f]{4,8}$/);

/** Entities at `shape` of `lens` (documents valid against their schemas, unknown attributes named like fields). */
function entities(lens: LensCase, shape: Shape): fc.Arbitrary<Entity[]> {
  const docs: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [type, version] of Object.entries(shape)) {
    docs[type] = arbitraryFromSchema(lens.schemas.get(`${type}@${version}`)!, { unknownKeys: 3, unknownNames: UNKNOWN_NAMES, excludeNames: [DISPLACED_FIELD] });
  }
  const one = fc.tuple(entityId, fc.record(docs)).map(([eid, e]) => {
    const out: Entity = {};
    for (const [type, doc] of Object.entries(e)) {
      const d: Record<string, unknown> = { ...(doc as Record<string, unknown>), _id: `${type}:${eid}` };
      delete d[DISPLACED_FIELD]; // only steps write it
      out[type] = d as Entity[string];
    }
    return out;
  });
  return fc.array(one, { minLength: 3, maxLength: 3 });
}

function expectValid(lens: LensCase, entity: Entity, shape: Shape, what: string): void {
  expect(Object.keys(entity).sort(), what).toEqual(Object.keys(shape).sort());
  for (const [type, doc] of Object.entries(entity)) {
    const validate = validatorOf(lens, `${type}@${shape[type]!}`);
    expect(validate(doc), `${what}: ${type}@${shape[type]!} ${JSON.stringify(doc)} ${JSON.stringify(validate.errors)}`).toBe(true);
  }
}

/** The laws between two shapes of a case, on the given entities of each. */
function checkLaws(lens: LensCase, steps: readonly DeclarativeStep[], lower: Shape, upper: Shape, xs: readonly Entity[], ys: readonly Entity[]): void {
  const graph = createStepGraph(steps);
  const up = graph.path(lower, upper);
  const down = graph.path(upper, lower);
  for (const x of xs) {
    const before = structuredClone(x);
    const y = up(x);
    expectValid(lens, y, upper, "up(x)");
    expect(down(y), "down(up(x)) = x").toEqual(x);
    expect(x).toEqual(before);
  }
  for (const y of ys) {
    const before = structuredClone(y);
    const x = down(y);
    expectValid(lens, x, lower, "down(y)");
    expect(up(x, { base: y }), "up(down(y), base y) = y").toEqual(y);
    expect(y).toEqual(before);
  }
}

/** A case with documents at every shape of its chain. */
const withDocs = lensCase.chain((lens) => fc.tuple(fc.constant(lens), fc.tuple(...lens.shapes.map((s) => entities(lens, s)))));

describe("lens laws on random schemas and random steps", () => {
  it("the generator covers every operation kind, and its documents are valid", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(withDocs, ([lens, docs]) => {
        for (const s of lens.steps) for (const op of s.ops) seen.add(op.op);
        lens.shapes.forEach((shape, i) => {
          for (const e of docs[i]!) expectValid(lens, e, shape, "generated");
        });
      }),
      { numRuns: 200 },
    );
    expect([...seen].sort()).toEqual([...OP_KINDS].sort());
  });

  it(`every step and every chain of steps keeps the laws (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(withDocs, ([lens, docs]) => {
        lens.steps.forEach((step, i) => checkLaws(lens, [step], lens.shapes[i]!, lens.shapes[i + 1]!, docs[i]!, docs[i + 1]!));
        const last = lens.shapes.length - 1;
        if (last > 1) checkLaws(lens, lens.steps, lens.shapes[0]!, lens.shapes[last]!, docs[0]!, docs[last]!);
      }),
      { numRuns: RUNS },
    );
  }, 60_000 + RUNS * 50);

  it("a case replays from its numbers", () => {
    const xs = Array.from({ length: 64 }, (_, i) => (i * 7919) % 1000);
    expect(buildCase(xs)).toEqual(buildCase(xs));
  });
});

describe("counterexamples found by the laws (kept as regular tests)", () => {
  const doc = (version: number, body: Record<string, unknown>): Entity => ({ t: { _id: "t:1", schema: "t", version, ...body } });
  const laws = (ops: Op[], lower: Entity[], upper: Entity[]): void => {
    const graph = createStepGraph([{ from: { t: 1 }, to: { t: 2 }, ops }]);
    const up = graph.path({ t: 1 }, { t: 2 });
    const down = graph.path({ t: 2 }, { t: 1 });
    for (const x of lower) expect(down(up(x))).toEqual(x);
    for (const y of upper) expect(up(down(y), { base: y })).toEqual(y);
  };

  it("hoist: a document without the container does not get an empty one back", () => {
    laws([{ op: "hoist", from: "meta", fields: ["owner"] }], [doc(1, {}), doc(1, { meta: {} }), doc(1, { meta: { owner: "a" } })], [doc(2, { owner: "a", meta: {} }), doc(2, {})]);
  });

  it("wrap: no container is made when none of its fields is present, and a pre-existing empty one survives", () => {
    laws([{ op: "wrap", fields: ["lat", "lng"], into: "pos" }], [doc(1, {}), doc(1, { pos: {} }), doc(1, { lat: 1, pos: {} })], [doc(2, { pos: {} }), doc(2, {})]);
  });

  it("wrap: a non-object in the container's place is kept aside even when none of the fields is present", () => {
    const graph = createStepGraph([{ from: { t: 1 }, to: { t: 2 }, ops: [{ op: "wrap", fields: ["d"], into: "k" }] }]);
    expect(graph.path({ t: 1 }, { t: 2 })(doc(1, { k: 0 }))["t"]).not.toHaveProperty("k");
    laws([{ op: "wrap", fields: ["d"], into: "k" }], [doc(1, { k: 0 }), doc(1, { k: 0, d: "x" })], [doc(2, { k: { d: "x" } })]);
  });

  it("convert: an unknown attribute with the converted name next to the source survives both ways", () => {
    const op: Op = { op: "convert", field: "a", to: "b", forward: [["p", 1]], backward: [[1, "p"]] };
    laws([op], [doc(1, { a: "p", b: "mine" }), doc(1, { b: "mine" })], [doc(2, { b: 1, a: "mine" }), doc(2, { a: "mine" })]);
  });

  it("merge going up keeps the merged document's own attributes for the way down", () => {
    const graph = createStepGraph([{ from: { t: 1, u: 1 }, to: { t: 2 }, ops: [{ op: "merge", type: "t", from: "u", fields: ["a"] }] }]);
    const x: Entity = { t: { _id: "t:1", schema: "t", version: 1 }, u: { _id: "u:1", schema: "u", version: 1, a: 1, b: 2 } };
    const y = graph.path({ t: 1, u: 1 }, { t: 2 })(x);
    expect(y["t"]).toMatchObject({ a: 1, [DISPLACED_FIELD]: { "t@1+u@1->t@2#0/up": { document: { b: 2 } } } });
    expect(graph.path({ t: 2 }, { t: 1, u: 1 })(y)).toEqual(x);
  });
});
