import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { arbitraryFromSchema } from "../../schemas/arbitrary.js";

const schemaDir = join(import.meta.dirname, "../../examples/todo-app/schemas");
const files = readdirSync(schemaDir).flatMap((type) =>
  readdirSync(join(schemaDir, type)).map((f) => ({ name: `${type}/${f}`, schema: JSON.parse(readFileSync(join(schemaDir, type, f), "utf8")) as object })),
);

describe("arbitraryFromSchema", () => {
  const ajv = new Ajv2020.default({ allErrors: true, strict: false });
  addFormats.default(ajv);

  for (const { name, schema } of files) {
    it(`generates only documents valid against ${name}, with unknown keys too`, () => {
      const validate = ajv.compile(schema);
      fc.assert(
        fc.property(arbitraryFromSchema(schema, { unknownKeys: 3 }), (doc) => {
          expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
        }),
        { numRuns: 300 },
      );
    });
  }

  it("covers bounds, enums, optional properties and rejects unsupported keywords", () => {
    const schema = {
      type: "object",
      required: ["n"],
      properties: { n: { type: "integer", minimum: 2, exclusiveMaximum: 5 }, e: { enum: ["a", "b"] }, s: { type: "string", minLength: 2, maxLength: 3 } },
    };
    const seen = new Set<string>();
    fc.assert(
      fc.property(arbitraryFromSchema(schema), (v) => {
        const o = v as { n: number; e?: string; s?: string };
        expect(o.n >= 2 && o.n < 5 && Number.isInteger(o.n)).toBe(true);
        if (o.e !== undefined) expect(["a", "b"]).toContain(o.e);
        if (o.s !== undefined) expect([...o.s].length).toBeGreaterThanOrEqual(2);
        seen.add(o.e === undefined ? "no-e" : "e");
      }),
      { numRuns: 200 },
    );
    expect(seen).toEqual(new Set(["e", "no-e"]));
    expect(() => arbitraryFromSchema({ type: "string", format: "email" })).toThrow(/unsupported/);
  });

  it("pins overridden top-level properties", () => {
    const schema = files.find((f) => f.name === "todo-item/1.0.json")!.schema;
    fc.assert(fc.property(arbitraryFromSchema(schema, { overrides: { _id: "todo-item:x" } }), (d) => (d as { _id: string })._id === "todo-item:x"), { numRuns: 50 });
  });
});
