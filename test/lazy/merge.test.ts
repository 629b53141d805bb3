/** The translating proxy's three-way merge of a pushed edit with a view's current content (`server/lazy/merge.ts`). */
import { describe, expect, it } from "vitest";
import { mergeContents, pushChangedBack } from "../../server/lazy/merge.js";

const base = { title: "a", done: false };
const untouched = { mine: new Set<string>(), current: new Set<string>() };

describe("mergeContents", () => {
  it("takes what each side changed, with no clash when they changed different members", () => {
    expect(mergeContents(base, { title: "b", done: false }, { title: "a", done: true }, untouched)).toEqual({ out: { title: "b", done: true }, clash: false });
  });

  it("reports a clash when both sides changed one member, and the push's value wins", () => {
    expect(mergeContents(base, { title: "b", done: false }, { title: "c", done: false }, untouched)).toEqual({ out: { title: "b", done: false }, clash: true });
  });

  it("a member the push changed back (done, then not done) clashes with the current side's change instead of losing to it", () => {
    const back = { mine: new Set(["done"]), current: new Set<string>() };
    expect(mergeContents(base, { title: "a", done: false }, { title: "a", done: true }, back)).toEqual({ out: { title: "a", done: false }, clash: true });
    expect(pushChangedBack(base, { title: "a", done: false }, back.mine)).toBe(true);
    expect(pushChangedBack(base, { title: "a", done: false }, new Set())).toBe(false);
  });

  it("a member the push removed while the view's line changed it is removed, and clashes", () => {
    expect(mergeContents({ title: "a", note: "x" }, { title: "a" }, { title: "a", note: "y" }, untouched)).toEqual({ out: { title: "a" }, clash: true });
  });
});
