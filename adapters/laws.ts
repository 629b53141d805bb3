/**
 * Steps checked against the schemas before anything is migrated (issue 14, `divan check`):
 *
 * - every shape a step starts or ends at has a schema for each of its types;
 * - a declarative step reads only attributes its source schema declares (a `rename` from `colour` when the
 *   schema has `color` is an error) and writes none that it declares (its values would only be kept aside);
 * - every step and every path between given shapes (the app's manifest versions) is executed on documents
 *   generated from the source schemas (with unknown attributes, some named like the attributes steps write):
 *   outputs must validate against the target schemas, `down(up(x))` must give `x` and
 *   `up(down(y), { base: y })` must give `y`. A failure names the step or path, the direction, the input
 *   (shrunk to a small one) and the attribute, and the seed that replays it.
 *
 * Node and browsers (fast-check and the registry; no I/O).
 */
import fc from "fast-check";
import { isDivanError } from "../core/errors.js";
import { arbitraryFromSchema } from "../schemas/arbitrary.js";
import { jsonEqual } from "../core/json.js";
import type { Registry } from "../schemas/registry.js";
import { stepTypes, typeFamilies } from "./families.js";
import { singleVersionIds, type IdScheme } from "./ids.js";
import { DISPLACED_FIELD, reverseOp, type Op } from "./ops.js";
import type { StepGraph } from "./path.js";
import { isDeclarativeStep, stepName, type DeclarativeStep, type StepDefinition } from "./steps.js";
import { shapeKey, type Entity, type Shape } from "./types.js";

/** Options of {@link checkSteps}. */
export interface CheckStepsOptions {
  /** The steps (a graph built with the registry's type and version fields). */
  readonly graph: StepGraph;
  /** The schemas. */
  readonly registry: Registry;
  /** Shapes whose paths to each other are checked too (the app's manifest versions), in any order. */
  readonly shapes?: readonly Shape[];
  /** Generated inputs per direction of each step and path (default 100). */
  readonly runs?: number;
  /** The seed of the generated inputs (default: random; printed with every failure). */
  readonly seed?: number;
  /** How documents are named (default {@link singleVersionIds}). */
  readonly ids?: IdScheme;
}

/** What {@link checkSteps} found. */
export interface StepCheckReport {
  /** One line per problem (each names the step or path, and the attribute when there is one). */
  readonly errors: string[];
  /** What was executed: `step <name>` or `path <from> -> <to>`, with the number of inputs per direction. */
  readonly checked: { readonly what: string; readonly runs: number }[];
  /** The seed used. */
  readonly seed: number;
}

type Family = ReadonlySet<string>;

/** Types linked by steps. */
function familiesOf(steps: readonly StepDefinition[]): Family[] {
  return [...new Set(typeFamilies(steps.map(stepTypes)).values())].map((f) => new Set(f));
}

function project(shape: Shape, family: Family): Shape {
  const out: Shape = {};
  for (const [t, v] of Object.entries(shape)) if (family.has(t)) out[t] = v;
  return out;
}

/** Attributes an object schema declares, or `undefined` when it does not list them (nothing can be said). */
function declared(schema: unknown): Set<string> | undefined {
  if (typeof schema !== "object" || schema === null) return undefined;
  const props = (schema as Record<string, unknown>)["properties"];
  return typeof props === "object" && props !== null ? new Set(Object.keys(props)) : undefined;
}

function nested(schema: unknown, name: string): unknown {
  const props = typeof schema === "object" && schema !== null ? (schema as Record<string, unknown>)["properties"] : undefined;
  return typeof props === "object" && props !== null ? (props as Record<string, unknown>)[name] : undefined;
}

/** Every attribute name a declarative operation reads or writes (generated documents use them as unknown attributes). */
function namesOf(op: Op): string[] {
  switch (op.op) {
    case "rename":
      return [op.from, op.to];
    case "add":
    case "remove":
      return [op.field];
    case "convert":
      return [op.field, op.to ?? op.field];
    case "wrap":
      return [...op.fields, op.into];
    case "hoist":
      return [...op.fields, op.from];
    case "extract":
    case "merge":
      return [...op.fields];
  }
}

/** Generated entities at a shape (cached per shape): documents valid for their schemas, with unknown attributes. */
function entityArbitraries(registry: Registry, ids: IdScheme, unknownNames: readonly string[]): (shape: Shape) => fc.Arbitrary<Entity> {
  const entityArbs = new Map<string, fc.Arbitrary<Entity>>();
  return (shape: Shape): fc.Arbitrary<Entity> => {
    const key = shapeKey(shape);
    let arb = entityArbs.get(key);
    if (arb === undefined) {
      const docs: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [t, v] of Object.entries(shape)) {
        docs[t] = arbitraryFromSchema(registry.schema(t, v).schema, { unknownKeys: 2, unknownNames, excludeNames: [DISPLACED_FIELD] });
      }
      arb = fc.tuple(fc.stringMatching(/^[0-9a-f]{6,16}$/), fc.record(docs)).map(([eid, e]) => {
        const out: Entity = {};
        for (const [t, d] of Object.entries(e)) {
          const doc = { ...(d as Record<string, unknown>), _id: ids.format(t, eid, shape[t]!) } as Entity[string];
          delete doc[DISPLACED_FIELD];
          out[t] = doc;
        }
        return out;
      });
      entityArbs.set(key, arb);
    }
    return arb;
  };
}

/** Throws {@link LawBroken} when a document of `e` is invalid or not of its type and version at `shape`. */
function expectValid(registry: Registry, e: Entity, shape: Shape, what: string): void {
  for (const [t, doc] of Object.entries(e)) {
    const r = registry.validate(doc);
    if (!r.ok) {
      const issue = r.errors[0];
      throw new LawBroken(`${what} ${t}@${shape[t]!} is invalid: ${issue === undefined ? r.code : `${issue.pointer || "/"} ${issue.message}`}`);
    }
    if (r.type !== t || r.version !== shape[t]) throw new LawBroken(`${what} ${t} document says it is ${r.type}@${r.version}, expected ${t}@${shape[t]!}`);
  }
}

/** Runs a translation; a `STEP_FAILED` becomes a {@link LawBroken} naming `what`. */
function translate(f: (e: Entity, o?: { base: Entity }) => Entity, e: Entity, base: Entity | undefined, what: string): Entity {
  try {
    return base === undefined ? f(e) : f(e, { base });
  } catch (err) {
    if (!isDivanError(err, "STEP_FAILED")) throw err;
    const field = err.details["field"];
    throw new LawBroken(`${what} failed${typeof field === "string" ? ` on ${field}` : ""}: ${err.message}`);
  }
}

/**
 * The attributes a declarative step reads that its source schema does not declare, and those it writes that
 * the schema already declares, in each direction (schemas without `properties` are not looked into).
 */
function staticErrors(step: DeclarativeStep, registry: Registry): string[] {
  const errors: string[] = [];
  const name = stepName(step);
  for (const dir of ["up", "down"] as const) {
    const start = dir === "up" ? step.from : step.to;
    const ops = dir === "up" ? step.ops : [...step.ops].reverse().map(reverseOp);
    const known = new Map<string, { attrs: Set<string> | undefined; schema: unknown; at: string }>();
    for (const [t, v] of Object.entries(start)) {
      const schema = registry.schema(t, v).schema;
      known.set(t, { attrs: declared(schema), schema, at: `${t}@${v}` });
    }
    ops.forEach((op, j) => {
      const index = dir === "up" ? j : ops.length - 1 - j;
      const where = `step "${name}" ${dir === "up" ? "up" : "down"}, op ${index} (${op.op})`;
      const type = op.type!;
      const doc = known.get(type);
      const reads = (t: string, f: string): void => {
        const k = known.get(t);
        if (k?.attrs !== undefined && !k.attrs.has(f)) {
          errors.push(`${where}: ${k.at} has no attribute ${f} (its schema declares ${[...k.attrs].filter((a) => !a.startsWith("_")).join(", ") || "none"}); the operation would never apply`);
        }
      };
      const writes = (f: string): void => {
        if (doc?.attrs?.has(f) === true) {
          errors.push(`${where}: ${doc.at} already has an attribute ${f}; the operation would put its values aside (in ${DISPLACED_FIELD}) instead of using them`);
        }
      };
      const move = (from: string | undefined, to: string | undefined): void => {
        if (doc?.attrs === undefined) return;
        if (from !== undefined) doc.attrs.delete(from);
        if (to !== undefined) doc.attrs.add(to);
      };
      switch (op.op) {
        case "rename":
          reads(type, op.from);
          writes(op.to);
          move(op.from, op.to);
          break;
        case "add":
          writes(op.field);
          move(undefined, op.field);
          break;
        case "remove":
          reads(type, op.field);
          move(op.field, undefined);
          break;
        case "convert":
          reads(type, op.field);
          if ((op.to ?? op.field) !== op.field) writes(op.to!);
          move(op.field, op.to ?? op.field);
          break;
        case "wrap":
          for (const f of op.fields) reads(type, f);
          for (const f of op.fields) move(f, undefined);
          move(undefined, op.into);
          break;
        case "hoist": {
          reads(type, op.from);
          const inner = declared(nested(doc?.schema, op.from));
          for (const f of op.fields) {
            if (inner !== undefined && !inner.has(f)) errors.push(`${where}: ${doc?.at ?? type}'s ${op.from} has no attribute ${f}; the operation would never apply`);
            writes(f);
            move(undefined, f);
          }
          break;
        }
        case "extract":
          for (const f of op.fields) reads(type, f);
          for (const f of op.fields) move(f, undefined);
          known.set(op.into, { attrs: new Set(op.fields), schema: undefined, at: op.into });
          break;
        case "merge":
          for (const f of op.fields) {
            reads(op.from, f);
            writes(f);
            move(undefined, f);
          }
          known.delete(op.from);
          break;
      }
    });
  }
  return errors;
}

/** The first attribute where two entities differ (revisions apart), as `type.attribute`. */
function difference(a: Entity, b: Entity): { where: string; was: unknown; now: unknown } | undefined {
  for (const t of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[t];
    const y = b[t];
    if (x === undefined || y === undefined) return { where: `the ${t} document`, was: x, now: y };
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (k === "_rev") continue;
      if (!jsonEqual(x[k], y[k])) return { where: `${t}.${k}`, was: x[k], now: y[k] };
    }
  }
  return undefined;
}

const show = (v: unknown): string => (v === undefined ? "absent" : JSON.stringify(v));

/** A failed check, with the attribute concerned. */
class LawBroken extends Error {}

/**
 * Runs the checks (see the module comment). Never throws for a step that fails: every problem is a line of
 * {@link StepCheckReport.errors}.
 */
export function checkSteps(options: CheckStepsOptions): StepCheckReport {
  const { graph, registry } = options;
  const runs = options.runs ?? 100;
  const seed = options.seed ?? Math.floor(Math.random() * 0x7fffffff);
  const ids = options.ids ?? singleVersionIds;
  const errors: string[] = [];
  const checked: { what: string; runs: number }[] = [];

  // 1. Schemas for every shape a step touches.
  const complete = new Set<StepDefinition>();
  for (const step of graph.steps) {
    const missing = [...Object.entries(step.from), ...Object.entries(step.to)].filter(([t, v]) => !registry.has(t, v));
    for (const [t, v] of missing) {
      errors.push(`step "${stepName(step)}" ${step.from[t] === v ? "starts" : "ends"} at ${t}@${v}, which has no schema: add ${t}/${v}.0.json to the schemas, or remove the step`);
    }
    if (missing.length === 0) complete.add(step);
  }

  // 2. What declarative steps read and write, against the schemas.
  for (const step of complete) if (isDeclarativeStep(step)) errors.push(...staticErrors(step, registry));

  // 3. Execution on generated documents.
  const unknownNames = [...new Set(graph.steps.flatMap((s) => (isDeclarativeStep(s) ? s.ops.flatMap(namesOf) : [])))];
  const entityAt = entityArbitraries(registry, ids, unknownNames);
  const validAt = (e: Entity, shape: Shape, what: string): void => expectValid(registry, e, shape, what);

  /** Both laws between `lower` and `upper` (`up` must not lose: it is the path lower → upper). */
  const laws = (what: string, lower: Shape, upper: Shape): void => {
    let up: ReturnType<StepGraph["path"]>;
    let down: ReturnType<StepGraph["path"]>;
    try {
      up = graph.path(lower, upper);
      down = graph.path(upper, lower);
    } catch (err) {
      errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    let lowerDocs: fc.Arbitrary<Entity>;
    let upperDocs: fc.Arbitrary<Entity>;
    try {
      lowerDocs = entityAt(lower);
      upperDocs = entityAt(upper);
    } catch (err) {
      errors.push(`${what}: divan check cannot generate documents for it (${err instanceof Error ? err.message : String(err)}); it is not checked`);
      return;
    }
    const property = (name: "up" | "down", arb: fc.Arbitrary<Entity>, body: (e: Entity) => void): void => {
      const details = fc.check(fc.property(arb, body), { numRuns: runs, seed });
      if (!details.failed) return;
      const input = details.counterexample?.[0];
      const why = details.errorInstance instanceof LawBroken ? details.errorInstance.message : `unexpected error: ${String(details.errorInstance)}`;
      errors.push(`${what}, ${name}: ${why}; input ${JSON.stringify(input)} (seed ${seed}: replay with --seed ${seed})`);
    };
    property("up", lowerDocs, (x) => {
      validAt(x, lower, "generated input");
      const y = translate(up, x, undefined, "up(x)");
      validAt(y, upper, "up(x):");
      const back = translate(down, y, undefined, "down(up(x))");
      const d = difference(x, back);
      if (d !== undefined) throw new LawBroken(`down(up(x)) loses ${d.where}: was ${show(d.was)}, came back ${show(d.now)}`);
    });
    property("down", upperDocs, (y) => {
      validAt(y, upper, "generated input");
      const x = translate(down, y, undefined, "down(y)");
      validAt(x, lower, "down(y):");
      const again = translate(up, x, y, "up(down(y), base y)");
      const d = difference(y, again);
      if (d !== undefined) throw new LawBroken(`up(down(y), base y) changes ${d.where}: was ${show(d.was)}, became ${show(d.now)}`);
    });
    checked.push({ what, runs });
  };

  for (const step of complete) laws(`step "${stepName(step)}"`, step.from, step.to);

  // Paths between the given shapes, per family of types, each pair once.
  const families = familiesOf([...complete]);
  const seen = new Set<string>();
  const shapes = options.shapes ?? [];
  for (const family of families) {
    for (const a of shapes) {
      for (const b of shapes) {
        let lower = project(a, family);
        let upper = project(b, family);
        if (Object.keys(lower).length === 0 || Object.keys(upper).length === 0 || shapeKey(lower) === shapeKey(upper)) continue;
        if (![...Object.entries(lower), ...Object.entries(upper)].every(([t, v]) => registry.has(t, v))) continue;
        try {
          if (graph.path(lower, upper).direction === "down") [lower, upper] = [upper, lower];
        } catch {
          // reported by laws() below
        }
        const key = `${shapeKey(lower)} -> ${shapeKey(upper)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (graph.steps.some((s) => shapeKey(s.from) === shapeKey(lower) && shapeKey(s.to) === shapeKey(upper))) continue; // that step is checked
        laws(`path ${key}`, lower, upper);
      }
    }
  }
  return { errors, checked, seed };
}
