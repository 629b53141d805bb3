/**
 * The canonical JSON serialiser and the structural `sameContent` must give exactly what the first
 * implementation gave (`JSON.stringify` of a key-sorted copy, non-ASCII escaped): deterministic revisions
 * written by earlier versions and by other devices depend on the same text.
 */
import fc from "fast-check";
import { stringMd5 } from "pouchdb-md5";
import { describe, expect, it } from "vitest";
import type { Doc } from "../../store/port.js";
import { canonicalJson, contentOf, sameContent, withDeterministicRev } from "../../strategies/runner/canonical.js";

/** The reference: a sorted copy stringified, then every non-ASCII code unit escaped. */
function reference(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v === null || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  };
  return (JSON.stringify(sortKeys(value)) ?? "null").replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const text = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" }), fc.constantFrom("_rev", "a", "é", "\u2028", "\ud800", "0", "2", "10", "01", "-1", "4294967294", "4294967295"));
const leaf = fc.oneof(text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.constantFrom(Number.NaN, -0, Infinity, 1e21));
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("v")), fc.dictionary(text, tie("v"))),
})).v;
const doc = fc.record({ _id: fc.string(), _rev: fc.option(fc.constantFrom("1-abc", "3-def"), { nil: undefined }), body: fc.dictionary(text, value) }).map(({ _id, _rev, body }) => {
  // a stored revision is `<gen>-<hash>` or absent
  const { _rev: ignored, ...rest } = body;
  void ignored;
  return { ...rest, _id, ...(_rev === undefined ? {} : { _rev }) } as Doc;
});

describe("canonical JSON", () => {
  it("is the key-sorted JSON.stringify text with non-ASCII escaped, for any JSON-like value", () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalJson(v)).toBe(reference(v));
      }),
    );
  });

  it("sorts keys and escapes non-ASCII text", () => {
    expect(canonicalJson({ b: 1, a: ["é", { d: undefined, c: null }] })).toBe('{"a":["\\u00e9",{"c":null}],"b":1}');
  });

  it("sameContent is equality of canonical content, ignoring revision fields and key order", () => {
    fc.assert(
      fc.property(doc, doc, fc.boolean(), (a, b, copy) => {
        const other = copy ? ({ ...JSON.parse(JSON.stringify(a)), _rev: "9-x", _revisions: { start: 9, ids: ["x"] } } as Doc) : b;
        expect(sameContent(a, other)).toBe(reference(contentOf(a)) === reference(contentOf(other)));
      }),
    );
  });

  it("sameContent tells a missing field from a null one and from a changed one", () => {
    const base: Doc = { _id: "x", _rev: "1-a", title: "t", n: 1 };
    expect(sameContent(base, { _id: "x", n: 1, title: "t" })).toBe(true);
    expect(sameContent(base, { ...base, extra: null })).toBe(false);
    expect(sameContent(base, { ...base, n: 2 })).toBe(false);
    expect(sameContent(base, { ...base, extra: undefined })).toBe(true);
  });

  it("a deterministic revision hashes the canonical content and the parent revision", () => {
    fc.assert(
      fc.property(doc, (d) => {
        const out = withDeterministicRev(d);
        const parent = typeof d._rev === "string" ? d._rev : undefined;
        const hash = stringMd5(reference({ content: contentOf(d), parent: parent ?? null }));
        const gen = parent === undefined ? 1 : Number(parent.split("-")[0]) + 1;
        expect(out._rev).toBe(`${gen}-${hash}`);
        expect(out._revisions).toEqual({ start: gen, ids: parent === undefined ? [hash] : [hash, parent.split("-")[1]] });
        expect(reference(contentOf(out))).toBe(reference(contentOf(d)));
      }),
    );
  });
});
