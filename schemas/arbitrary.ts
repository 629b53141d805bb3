/**
 * fast-check arbitraries generated from JSON Schemas: documents for `divan check` (which runs every step
 * on them) and for property tests. Node and browsers (fast-check only).
 *
 * Covers the subset divan's schemas use: `type: object` with `properties`/`required`,
 * `string` (`minLength`, `maxLength`, `pattern`, `format: "date-time"`), `boolean`, `const`, `enum`,
 * `integer`/`number` (`minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`), `array` (`items`,
 * `minItems`, `maxItems`), `null`, `type` lists, and `anyOf`/`oneOf` of those. Anything else throws,
 * so a schema that outgrows the generator is noticed instead of silently under-tested.
 *
 * Optional properties are present or absent at random. With `unknownKeys`, objects also get a few
 * extra attributes that no schema declares (names never start with `_`, which CouchDB reserves), to
 * check that unknown attributes pass through untouched; `unknownNames` makes some of them take given
 * names (e.g. the attributes steps write, to provoke collisions).
 *
 * @example
 * ```ts
 * fc.assert(fc.property(arbitraryFromSchema(schema), (doc) => registry.validate(doc).ok));
 * ```
 */
import fc from "fast-check";

/** Any JSON Schema (structural: divan's `JsonSchema`, plain JSON and boolean schemas all fit). */
export type JsonSchemaLike = object | boolean;

/** Options for {@link arbitraryFromSchema}. */
export interface ArbitraryFromSchemaOptions {
  /** Add up to this many undeclared attributes to every generated object (default 0). */
  unknownKeys?: number;
  /** Fixed values for top-level properties (e.g. `{ _id: "task:1" }`), overriding the schema. */
  overrides?: Readonly<Record<string, unknown>>;
  /** Always generate every optional property (default false: present or absent at random). */
  allOptional?: boolean;
  /** Names undeclared attributes may also take (those an object declares are skipped). */
  unknownNames?: readonly string[];
  /** Names undeclared attributes never take (e.g. attributes divan reserves). */
  excludeNames?: readonly string[];
}

type SchemaObject = Readonly<Record<string, unknown>>;

const MIN_DATE = new Date("1970-01-01T00:00:00.000Z");
const MAX_DATE = new Date("2999-12-31T23:59:59.999Z");

/** JSON values suitable as unknown attributes (small, plain JSON). */
const unknownValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
  fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.integer(), { maxKeys: 3 }),
);

/** Names of undeclared attributes (built once: a pattern arbitrary is costly to build). */
const unknownName: fc.Arbitrary<string> = fc.stringMatching(/^x[A-Za-z0-9]{0,8}$/);

/**
 * An arbitrary producing values that are valid against `schema`.
 *
 * @throws Error when the schema uses a keyword outside the supported subset.
 */
export function arbitraryFromSchema(
  schema: JsonSchemaLike,
  options: ArbitraryFromSchemaOptions = {},
): fc.Arbitrary<unknown> {
  if (schema === true) return unknownValue;
  if (schema === false) throw new Error("arbitraryFromSchema: the schema false has no valid value");
  return build(schema as SchemaObject, options, true);
}

function build(schema: SchemaObject, options: ArbitraryFromSchemaOptions, topLevel: boolean): fc.Arbitrary<unknown> {
  if ("const" in schema) return fc.constant(schema["const"]);
  const enumValues = schema["enum"];
  if (Array.isArray(enumValues)) {
    if (enumValues.length === 0) throw new Error("arbitraryFromSchema: empty enum has no valid value");
    return fc.constantFrom(...(enumValues as unknown[]));
  }
  const alternatives = schema["anyOf"] ?? schema["oneOf"];
  if (Array.isArray(alternatives)) {
    // oneOf alternatives in our schemas are disjoint; overlapping ones would need a filter.
    return fc.oneof(...(alternatives as SchemaObject[]).map((s) => build(s, options, false)));
  }
  const type = schema["type"];
  if (Array.isArray(type)) {
    return fc.oneof(...(type as string[]).map((t) => build({ ...schema, type: t }, options, false)));
  }
  if (type === undefined && isObject(schema["properties"])) return buildObject(schema, options, topLevel);
  switch (type) {
    case "object":
      return buildObject(schema, options, topLevel);
    case "string":
      return buildString(schema);
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "integer":
      return buildInteger(schema);
    case "number":
      return buildNumber(schema);
    case "array": {
      const items = schema["items"];
      const itemArb = isObject(items) ? build(items, options, false) : unknownValue;
      return fc.array(itemArb, {
        minLength: numberOr(schema["minItems"], 0),
        maxLength: numberOr(schema["maxItems"], 5),
      });
    }
    default:
      throw new Error(`arbitraryFromSchema: unsupported schema ${JSON.stringify(schema).slice(0, 200)}`);
  }
}

function buildObject(schema: SchemaObject, options: ArbitraryFromSchemaOptions, topLevel: boolean): fc.Arbitrary<unknown> {
  const properties = isObject(schema["properties"]) ? (schema["properties"] as Record<string, SchemaObject>) : {};
  const required = new Set(Array.isArray(schema["required"]) ? (schema["required"] as string[]) : []);
  const overrides = topLevel ? (options.overrides ?? {}) : {};
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  const requiredKeys: string[] = [];
  for (const [key, sub] of Object.entries(properties)) {
    model[key] = key in overrides ? fc.constant(overrides[key]) : build(sub, options, false);
    if (required.has(key) || options.allOptional === true || key in overrides) requiredKeys.push(key);
  }
  for (const key of required) {
    if (!(key in model)) {
      model[key] = key in overrides ? fc.constant(overrides[key]) : unknownValue;
      requiredKeys.push(key);
    }
  }
  const declared = fc.record(model, { requiredKeys });
  const extraCount = options.unknownKeys ?? 0;
  if (extraCount <= 0 || schema["additionalProperties"] === false) return declared;
  const excluded = new Set(options.excludeNames ?? []);
  const named = (options.unknownNames ?? []).filter((k) => !(k in properties) && !excluded.has(k) && !k.startsWith("_"));
  const random = unknownName;
  const extras = fc.dictionary(
    (named.length === 0 ? random : fc.oneof(random, fc.constantFrom(...named))).filter((k) => !(k in properties) && !excluded.has(k)),
    unknownValue,
    { maxKeys: extraCount },
  );
  return fc.tuple(declared, extras).map(([d, e]) => ({ ...e, ...(d as Record<string, unknown>) }));
}

function buildString(schema: SchemaObject): fc.Arbitrary<string> {
  const minLength = numberOr(schema["minLength"], 0);
  const maxLength = typeof schema["maxLength"] === "number" ? schema["maxLength"] : undefined;
  const fitsLength = (s: string): boolean => {
    const n = [...s].length; // JSON Schema counts code points
    return n >= minLength && (maxLength === undefined || n <= maxLength);
  };
  if (schema["format"] === "date-time") {
    return fc
      .date({ min: MIN_DATE, max: MAX_DATE, noInvalidDate: true })
      .map((d) => d.toISOString())
      .filter(fitsLength);
  }
  if (schema["format"] !== undefined) {
    throw new Error(`arbitraryFromSchema: unsupported string format ${String(schema["format"])}`);
  }
  const pattern = schema["pattern"];
  if (typeof pattern === "string") {
    return fc
      .stringMatching(new RegExp(pattern, "u"), maxLength === undefined ? {} : { maxLength })
      .filter(fitsLength);
  }
  return fc.string({ unit: "grapheme-composite", minLength, maxLength: maxLength ?? 32 }).filter(fitsLength);
}

function buildInteger(schema: SchemaObject): fc.Arbitrary<number> {
  let min = numberOr(schema["minimum"], -1_000_000);
  let max = numberOr(schema["maximum"], 1_000_000);
  if (typeof schema["exclusiveMinimum"] === "number") min = Math.max(min, Math.floor(schema["exclusiveMinimum"]) + 1);
  if (typeof schema["exclusiveMaximum"] === "number") max = Math.min(max, Math.ceil(schema["exclusiveMaximum"]) - 1);
  return fc.integer({ min: Math.ceil(min), max: Math.floor(max) });
}

function buildNumber(schema: SchemaObject): fc.Arbitrary<number> {
  const min = numberOr(schema["minimum"], -1e6);
  const max = numberOr(schema["maximum"], 1e6);
  const exMin = typeof schema["exclusiveMinimum"] === "number" ? schema["exclusiveMinimum"] : undefined;
  const exMax = typeof schema["exclusiveMaximum"] === "number" ? schema["exclusiveMaximum"] : undefined;
  return fc
    .double({ min: Math.max(min, exMin ?? min), max: Math.min(max, exMax ?? max), noNaN: true, noDefaultInfinity: true })
    .filter((n) => (exMin === undefined || n > exMin) && (exMax === undefined || n < exMax) && !Object.is(n, -0));
}

function numberOr(v: unknown, fallback: number): number {
  return typeof v === "number" ? v : fallback;
}

function isObject(v: unknown): v is SchemaObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
