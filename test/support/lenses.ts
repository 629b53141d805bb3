/**
 * Random lens cases for the law tests (issue 14 item 10): a random entity schema (one or two document types of
 * leaves, enums and nested objects, some forbidding additional properties) and a chain of random declarative
 * steps that are legal for it, each with the schemas it leads to (derived by applying the operations to the
 * schemas, as Cambria derives them). Every operation kind appears.
 *
 * The case is built from a list of random numbers (fast-check shrinks it towards zeros: the first choice of
 * every pick), so a failing seed replays exactly.
 */
import fc from "fast-check";
import { DISPLACED_FIELD, type Op } from "../../adapters/ops.js";
import type { DeclarativeStep } from "../../adapters/steps.js";
import type { JsonValue, Shape } from "../../adapters/types.js";

/** An object schema of a document type or of a nested object. */
export interface ObjectSchema {
  type: "object";
  required: string[];
  properties: Record<string, Record<string, unknown>>;
  additionalProperties?: false;
}

/** One generated case: shapes[0] → steps[0] → shapes[1] → … and the schema of every `type@version`. */
export interface LensCase {
  readonly shapes: readonly Shape[];
  readonly steps: readonly DeclarativeStep[];
  readonly schemas: ReadonlyMap<string, ObjectSchema>;
}

/** Names operations write: also the names generated documents give their unknown attributes, to provoke collisions. */
export const FIELD_NAMES = ["a", "b", "c", "d", "e", "f", "g", "h"] as const;
const CONTAINER_NAMES = ["m", "n", "k"] as const;
const TYPE_NAMES = ["t", "u", "v", "w", "z"] as const;
const DOC_FIELDS = new Set(["_id", "schema", "version", DISPLACED_FIELD]);

class Choices {
  #i = 0;
  constructor(private readonly xs: readonly number[]) {}
  int(n: number): number {
    if (n <= 1) return 0;
    const v = this.xs[this.#i % this.xs.length]!;
    this.#i += 1;
    return v % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(percent: number): boolean {
    return this.int(100) < percent;
  }
  /** 1 or 2 distinct items of `xs` (non-empty). */
  some<T>(xs: readonly T[]): T[] {
    const first = this.pick(xs);
    const rest = xs.filter((x) => x !== first);
    return rest.length > 0 && this.chance(40) ? [first, this.pick(rest)] : [first];
  }
}

type Kind = "string" | "integer" | "boolean" | "enum";
const KINDS: readonly Kind[] = ["string", "integer", "boolean", "enum"];
const ENUM = ["p", "q", "r"];
/** Values a `convert` maps to (one list per case, distinct values). */
const IMAGES: readonly JsonValue[][] = [
  ["P", "Q", "R", "S", "T", "U", "V"],
  [1, 2, 3, 4, 5, 6, 7],
  ["q", "r", "p", "x", "y", "z", "w"],
  [true, false, null, 0, "", "0", 1.5],
];

function leaf(kind: Kind): Record<string, unknown> {
  switch (kind) {
    case "string":
      return { type: "string", maxLength: 6 };
    case "integer":
      return { type: "integer", minimum: 0, maximum: 9 };
    case "boolean":
      return { type: "boolean" };
    case "enum":
      return { enum: [...ENUM] };
  }
}

function defaultFor(schema: Record<string, unknown>, c: Choices): JsonValue {
  if (Array.isArray(schema["enum"])) return c.pick(schema["enum"] as JsonValue[]);
  switch (schema["type"]) {
    case "string":
      return c.pick(["", "s"]);
    case "integer":
      return c.int(3);
    case "boolean":
      return c.chance(50);
    default:
      return {};
  }
}

const clone = <T>(v: T): T => structuredClone(v);
const isContainer = (s: Record<string, unknown> | undefined): boolean => s?.["type"] === "object";

function docSchema(type: string, version: number, c: Choices, strict: boolean): ObjectSchema {
  const s: ObjectSchema = {
    type: "object",
    required: ["_id", "schema", "version"],
    properties: { _id: { type: "string" }, schema: { const: type }, version: { const: version } },
    ...(strict ? { additionalProperties: false as const } : {}),
  };
  const names = FIELD_NAMES.filter(() => c.chance(45));
  for (const n of names.length === 0 ? [FIELD_NAMES[0]] : names) {
    s.properties[n] = leaf(c.pick(KINDS));
    if (c.chance(50)) s.required.push(n);
  }
  if (c.chance(60)) {
    const name = c.pick(CONTAINER_NAMES);
    const inner: ObjectSchema = { type: "object", required: [], properties: {}, ...(c.chance(40) ? { additionalProperties: false as const } : {}) };
    for (const n of FIELD_NAMES.filter((f) => !(f in s.properties) && c.chance(35))) {
      inner.properties[n] = leaf(c.pick(KINDS));
      if (c.chance(40)) inner.required.push(n);
    }
    s.properties[name] = inner as unknown as Record<string, unknown>;
    if (c.chance(40)) s.required.push(name);
  }
  return s;
}

/** The operations legal on `cur` (the schemas of the entity's types at this point), one picked at random and applied. */
function randomOp(cur: Map<string, ObjectSchema>, c: Choices, used: Set<string>, extracted: Set<string>, source: (type: string) => ObjectSchema | undefined): Op | undefined {
  const types = [...cur.keys()];
  const t = c.pick(types);
  const s = cur.get(t)!;
  const strict = s.additionalProperties === false;
  const own = (x: ObjectSchema): string[] => Object.keys(x.properties).filter((k) => !DOC_FIELDS.has(k));
  const leaves = own(s).filter((k) => !isContainer(s.properties[k]));
  const free = FIELD_NAMES.filter((f) => !(f in s.properties));
  const isReq = (x: ObjectSchema, k: string): boolean => x.required.includes(k);
  const drop = (x: ObjectSchema, k: string): void => {
    delete x.properties[k];
    x.required = x.required.filter((r) => r !== k);
  };
  const reserve = (x: ObjectSchema): void => {
    if (x.additionalProperties === false) x.properties[DISPLACED_FIELD] = { type: "object" };
  };
  const kinds = ["rename", "add", "remove", "convert", "wrap", "hoist", "extract", "merge"] as const;
  const start = c.int(kinds.length);
  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[(start + i) % kinds.length]!;
    switch (kind) {
      case "rename": {
        if (own(s).length === 0 || free.length === 0) continue;
        const from = c.pick(own(s));
        const to = c.pick(free);
        s.properties[to] = s.properties[from]!;
        if (isReq(s, from)) s.required.push(to);
        drop(s, from);
        return { op: "rename", type: t, from, to };
      }
      case "add": {
        if (free.length === 0) continue;
        const field = c.pick(free);
        const schema = leaf(c.pick(KINDS));
        const dflt = defaultFor(schema, c);
        s.properties[field] = schema;
        s.required.push(field);
        return { op: "add", type: t, field, default: dflt };
      }
      case "remove": {
        const removable = own(s).filter((k) => !isContainer(s.properties[k]) || (s.properties[k] as unknown as ObjectSchema).required.length === 0);
        if (removable.length === 0) continue;
        const field = c.pick(removable);
        const dflt = defaultFor(s.properties[field]!, c);
        drop(s, field);
        reserve(s);
        return { op: "remove", type: t, field, default: dflt };
      }
      case "convert": {
        const enums = leaves.filter((k) => Array.isArray(s.properties[k]!["enum"]));
        if (enums.length === 0) continue;
        const field = c.pick(enums);
        const values = s.properties[field]!["enum"] as JsonValue[];
        const to = free.length > 0 && c.chance(60) ? c.pick(free) : field;
        const pool = c.pick(IMAGES).filter((v) => !values.includes(v) || c.chance(50));
        if (pool.length < values.length + 1) continue;
        const forward = values.map((v, j) => [v, pool[j]!] as const);
        const backward: (readonly [JsonValue, JsonValue])[] = forward.map(([a, b]) => [b, a] as const);
        if (c.chance(50)) backward.push([pool[values.length]!, c.pick(values)]); // a newer value the older version cannot show
        const required = isReq(s, field);
        drop(s, field);
        s.properties[to] = { enum: backward.map(([a]) => a) };
        if (required) s.required.push(to);
        return { op: "convert", type: t, field, ...(to === field ? {} : { to }), forward, backward };
      }
      case "wrap": {
        if (leaves.length === 0) continue;
        const fields = c.some(leaves);
        // Into an existing container only if what `hoist` does on the way down (without base) stays valid: it
        // removes a container it empties, and a container of the fields alone is made on the way up. So an
        // optional container must require nothing, a required one must require something (never emptied).
        const existing = own(s).filter((k) => {
          const inner = s.properties[k] as unknown as ObjectSchema;
          return isContainer(s.properties[k]) && fields.every((f) => !(f in inner.properties)) && (isReq(s, k) ? inner.required.length > 0 : inner.required.length === 0);
        });
        // A new container exists exactly when one of its fields does; under a schema without additional
        // properties an empty one has no older form, so one field must be required there.
        const fresh = strict && !fields.some((f) => isReq(s, f)) ? [] : CONTAINER_NAMES.filter((n) => !(n in s.properties));
        const into = existing.length > 0 && (fresh.length === 0 || c.chance(50)) ? c.pick(existing) : fresh.length > 0 ? c.pick(fresh) : undefined;
        if (into === undefined) continue;
        const old = s.properties[into] as unknown as ObjectSchema | undefined;
        const inner: ObjectSchema = old ?? { type: "object", required: [], properties: {}, ...(strict ? { additionalProperties: false as const } : {}) };
        for (const f of fields) {
          inner.properties[f] = s.properties[f]!;
          if (isReq(s, f)) inner.required.push(f);
        }
        const anyRequired = fields.some((f) => isReq(s, f));
        for (const f of fields) drop(s, f);
        s.properties[into] = inner as unknown as Record<string, unknown>;
        if (anyRequired && !isReq(s, into)) s.required.push(into);
        if (old !== undefined) reserve(s); // an existing empty container is remembered in the reserve
        return { op: "wrap", type: t, fields, into };
      }
      case "hoist": {
        const containers = own(s).filter((k) => isContainer(s.properties[k]) && Object.keys((s.properties[k] as unknown as ObjectSchema).properties).some((f) => !(f in s.properties)));
        if (containers.length === 0) continue;
        const from = c.pick(containers);
        const inner = s.properties[from] as unknown as ObjectSchema;
        const fields = c.some(Object.keys(inner.properties).filter((f) => !(f in s.properties)));
        const outerRequired = isReq(s, from);
        // An emptied container goes away, and on the way down a container is made from the fields only: a
        // required container must keep a required field (it is then never emptied), an optional one must
        // require nothing.
        if (outerRequired ? !inner.required.some((r) => !fields.includes(r)) : inner.required.length > 0) continue;
        for (const f of fields) {
          s.properties[f] = inner.properties[f]!;
          if (outerRequired && isReq(inner, f)) s.required.push(f);
          drop(inner, f);
        }
        // A newer container that takes any attribute may hold one named like a hoisted field: on the way down
        // it is kept in the older document's reserve.
        const older = source(t);
        if (inner.additionalProperties !== false && older !== undefined) reserve(older);
        return { op: "hoist", type: t, from, fields };
      }
      case "extract": {
        const into = TYPE_NAMES.find((n) => !used.has(n));
        if (leaves.length === 0 || into === undefined) continue;
        used.add(into);
        const fields = c.some(leaves);
        const target: ObjectSchema = {
          type: "object",
          required: ["_id", "schema", "version"],
          properties: { _id: { type: "string" }, schema: { const: into }, version: { const: 1 } },
          ...(c.chance(40) ? { additionalProperties: false as const } : {}),
        };
        for (const f of fields) {
          target.properties[f] = s.properties[f]!;
          if (isReq(s, f)) target.required.push(f);
          drop(s, f);
        }
        cur.set(into, target);
        extracted.add(into);
        return { op: "extract", type: t, fields, into };
      }
      case "merge": {
        // A document extracted by this step is in its target shape: it cannot be merged away in the same step.
        const others = types.filter((u) => u !== t && !extracted.has(u) && own(cur.get(u)!).some((f) => !isContainer(cur.get(u)!.properties[f]) && !(f in s.properties)));
        if (others.length === 0) continue;
        const from = c.pick(others);
        const u = cur.get(from)!;
        // The merged document comes back on the way down with the merged fields only (and, going up, what
        // the reserve kept): every field it requires must be merged.
        const mergeable = own(u).filter((f) => !isContainer(u.properties[f]) && !(f in s.properties));
        if (!own(u).filter((f) => isReq(u, f)).every((f) => mergeable.includes(f))) continue;
        const fields = [...new Set([...own(u).filter((f) => isReq(u, f)), ...c.some(mergeable)])];
        for (const f of fields) {
          s.properties[f] = u.properties[f]!;
          if (isReq(u, f)) s.required.push(f);
        }
        cur.delete(from);
        reserve(s); // the merged document's other attributes are kept
        return { op: "merge", type: t, from, fields };
      }
    }
  }
  return undefined;
}

/** Builds a case from random numbers (pure). */
export function buildCase(xs: readonly number[]): LensCase {
  const c = new Choices(xs);
  const schemas = new Map<string, ObjectSchema>();
  const used = new Set<string>(["t"]);
  let shape: Shape = { t: 1 };
  let cur = new Map<string, ObjectSchema>([["t", docSchema("t", 1, c, c.chance(30))]]);
  if (c.chance(40)) {
    used.add("u");
    shape = { t: 1, u: 1 };
    cur.set("u", docSchema("u", 1, c, c.chance(30)));
  }
  for (const [t, s] of cur) schemas.set(`${t}@${shape[t]!}`, clone(s));
  const shapes: Shape[] = [shape];
  const steps: DeclarativeStep[] = [];
  const count = 1 + c.int(2);
  for (let n = 0; n < count; n++) {
    const next = new Map([...cur].map(([t, s]) => [t, clone(s)]));
    const ops: Op[] = [];
    const extracted = new Set<string>();
    for (let k = 1 + c.int(3); k > 0; k--) {
      const op = randomOp(next, c, used, extracted, (t) => (shape[t] === undefined ? undefined : schemas.get(`${t}@${shape[t]}`)));
      if (op !== undefined) ops.push(op);
    }
    const to: Shape = {};
    for (const [t, s] of next) {
      to[t] = (shape[t] ?? 0) + 1;
      s.properties["version"] = { const: to[t] };
      schemas.set(`${t}@${to[t]}`, clone(s));
    }
    steps.push({ name: `s${n}`, from: shape, to, ops });
    shapes.push(to);
    shape = to;
    cur = next;
  }
  // What one step keeps in a document's reserve travels with it through the other steps of a chain.
  for (const [key, schema] of schemas) {
    if (!(DISPLACED_FIELD in schema.properties)) continue;
    const type = key.slice(0, key.indexOf("@"));
    for (const [other, s] of schemas) if (other.startsWith(`${type}@`) && s.additionalProperties === false) s.properties[DISPLACED_FIELD] = { type: "object" };
  }
  return { shapes, steps, schemas };
}

/** Arbitrary lens cases. */
export const lensCase: fc.Arbitrary<LensCase> = fc.array(fc.nat({ max: 1_000_000 }), { minLength: 64, maxLength: 64 }).map(buildCase);
