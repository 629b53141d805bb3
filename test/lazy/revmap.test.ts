import { describe, expect, it } from "vitest";
import { adoptPushed, DELETED_HASH, generationOf, knows, mintChild, observe, parseViewRev, revisionsOf, stateHash, viewHash, withContent } from "../../server/lazy/revmap.js";

const doc = { _id: "todo-item:a", schema: "todo-item", version: 1, title: "milk", isDone: false };

describe("revision map of translated views", () => {
  it("hashes content only: revision fields and key order do not matter, any field does", () => {
    const shuffled = { isDone: false, title: "milk", version: 1, schema: "todo-item", _id: "todo-item:a", _rev: "3-x", _revisions: { start: 3, ids: ["x"] } };
    expect(viewHash(shuffled)).toBe(viewHash(doc));
    expect(viewHash({ ...doc, isDone: true })).not.toBe(viewHash(doc));
    expect(viewHash(undefined)).toBe(DELETED_HASH);
    expect(viewHash({ ...doc, _deleted: true })).toBe(DELETED_HASH);
  });

  it("a first read mints generation 1; the same content keeps the revision; changed content mints a child", () => {
    const first = observe(undefined, viewHash(doc));
    expect(first.changed).toBe(true);
    expect(generationOf(first.entry!.rev)).toBe(1);
    const again = observe(first.entry, viewHash({ ...doc }));
    expect(again).toEqual({ entry: first.entry, changed: false });
    const edited = observe(first.entry, viewHash({ ...doc, title: "oat milk" }));
    expect(edited.changed).toBe(true);
    expect(generationOf(edited.entry!.rev)).toBe(2);
    expect(revisionsOf(edited.entry!)).toEqual({ start: 2, ids: [edited.entry!.rev.slice(2), first.entry!.rev.slice(2)] });
    expect(knows(edited.entry, first.entry!.rev)).toBe(true);
  });

  it("minting is deterministic: two readers of the same state mint the same revision", () => {
    const base = mintChild(undefined, "h1", false);
    expect(mintChild(base, "h2", false)).toEqual(mintChild(base, "h2", false));
    expect(mintChild(base, "h2", false).rev).not.toBe(mintChild(base, "h3", false).rev);
  });

  it("a view that is gone and was never served has no revision; one that was served gets a deleted child", () => {
    expect(observe(undefined, DELETED_HASH)).toEqual({ entry: undefined, changed: false });
    const live = mintChild(undefined, viewHash(doc), false);
    const gone = observe(live, DELETED_HASH).entry!;
    expect(gone.deleted).toBe(true);
    expect(generationOf(gone.rev)).toBe(2);
    expect(knows(gone, live.rev)).toBe(true);
  });

  it("a pushed revision is adopted with the device's history, so the device's own edit reads back unchanged", () => {
    const served = mintChild(undefined, viewHash(doc), false);
    const pushedRev = `2-${"b".repeat(32)}`;
    const entry = adoptPushed(pushedRev, { start: 2, ids: ["b".repeat(32), served.rev.slice(2)] }, viewHash({ ...doc, isDone: true }));
    expect(entry.rev).toBe(pushedRev);
    expect(knows(entry, served.rev)).toBe(true);
    // the server reads the edit back as the device wrote it: same revision, nothing to send back
    expect(observe(entry, viewHash({ ...doc, isDone: true, _rev: "9-zzz" }))).toEqual({ entry, changed: false });
    // read back differently (another edit landed): a child of the pushed revision
    const later = observe(entry, viewHash({ ...doc, isDone: true, title: "x" })).entry!;
    expect(revisionsOf(later).ids.slice(1)).toEqual(["b".repeat(32), served.rev.slice(2)]);
  });

  it("a pushed revision whose _revisions do not match it keeps only itself as history", () => {
    const entry = adoptPushed("3-ccc", { start: 2, ids: ["x", "y"] }, "h");
    expect(entry.ancestors).toEqual(["ccc"]);
    expect(knows(entry, "2-x")).toBe(false);
    expect(knows(entry, "3-ccc")).toBe(true);
    expect(knows(undefined, "3-ccc")).toBe(false);
  });

  it("history is capped at 1000 revisions", () => {
    let e = mintChild(undefined, "h0", false);
    for (let i = 1; i < 1005; i++) e = mintChild(e, `h${i}`, false);
    expect(generationOf(e.rev)).toBe(1005);
    expect(e.ancestors).toHaveLength(1000);
    expect(knows(e, e.rev)).toBe(true);
  });

  it("reads a stored record back and refuses anything else", () => {
    const e = mintChild(undefined, "h", false);
    expect(parseViewRev({ _id: "_local/x", _rev: "0-1", ...e })).toEqual(e);
    expect(parseViewRev({ v: 2, rev: "1-a", hash: "h", deleted: false, ancestors: ["a"] })).toBeUndefined();
    expect(parseViewRev({ v: 1, rev: "1-a", hash: "h", deleted: false, ancestors: [1] })).toBeUndefined();
    expect(parseViewRev(undefined)).toBeUndefined();
  });

  it("an old view's revision stands for the stored entity too: the same content over another stored status is a new revision", () => {
    const active = { "todo-item-status": { status: "active" } };
    const rejected = { "todo-item-status": { status: "rejected" } };
    expect(stateHash(doc, undefined)).toBe(viewHash(doc));
    expect(stateHash(doc, active)).toBe(stateHash({ ...doc }, { "todo-item-status": { status: "active" } }));
    expect(stateHash(doc, rejected)).not.toBe(stateHash(doc, active));
    expect(stateHash(undefined, active)).toBe(DELETED_HASH);
    const first = withContent(observe(undefined, stateHash(doc, active)).entry!, doc, active);
    const next = observe(first, stateHash(doc, rejected));
    expect(next.changed).toBe(true);
    const child = withContent(next.entry!, doc, rejected);
    expect(child.stored?.[first.rev]).toEqual(active);
    expect(child.stored?.[child.rev]).toEqual(rejected);
    expect(parseViewRev({ ...child })?.stored).toEqual(child.stored);
  });
});
