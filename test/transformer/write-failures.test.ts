/**
 * Issue 14 item 11: a transformer write that fails is retried only when it can succeed (409,
 * STORE_UNAVAILABLE), a capped number of times with backoff; any other failure (FORBIDDEN or BAD_REQUEST
 * from a validate_doc_update, …) and a write that kept failing are quarantined (id, rev, type, version,
 * code, reason, and the side) with an event and a status entry, and stored so a restart and
 * `divan status` see them. A failed branch write is handled the same way, never dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DivanError } from "../../core/errors.js";
import { transformerStatusSection } from "../../server/transformer/status-section.js";
import type { BulkDocsOptions, Doc, DocumentStore, WriteResult } from "../../store/port.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { readTransformerQuarantine } from "../../strategies/transformer/quarantine.js";
import { createTransformer, type TransformerEvent, type TransformerSide } from "../../strategies/transformer/transformer.js";
import { storeBackends } from "../support/backends.js";
import { item1, transformerFixtures } from "../support/transformer.js";

const V1 = { "todo-item": 1, settings: 1 };
const V3 = { "todo-item": 3, "todo-item-status": 1, settings: 1 };

type Verdict = { code: "CONFLICT" | "FORBIDDEN" | "UNAUTHORIZED" | "BAD_REQUEST"; reason: string } | "unavailable" | undefined;

/** `store` whose bulk writes pass through `refuse` first (counting every document it is asked to write). */
function guarded(store: DocumentStore, refuse: (doc: Doc, newEdits: boolean) => Verdict, asked: Doc[] = []): DocumentStore {
  const bulkDocs = async (docs: Doc[], options: BulkDocsOptions = {}): Promise<WriteResult[]> => {
    asked.push(...docs);
    const verdicts = docs.map((d) => refuse(d, options.newEdits !== false));
    if (verdicts.includes("unavailable")) throw new DivanError("STORE_UNAVAILABLE", `bulkDocs on ${store.name}: connection refused`);
    const pass = docs.filter((_d, i) => verdicts[i] === undefined);
    const written = pass.length === 0 ? [] : await store.bulkDocs(pass, options);
    let next = 0;
    return docs.map((d, i) => {
      const v = verdicts[i];
      return v === undefined || v === "unavailable" ? written[next++]! : { id: d._id, ok: false as const, error: v };
    });
  };
  return new Proxy(store, {
    get(target, p) {
      if (p === "bulkDocs") return bulkDocs;
      const v: unknown = Reflect.get(target, p, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const isStatus = (id: string) => (d: Doc) => d._id === id;

describe("write failures on memory stores", () => {
  const { stores, keep } = transformerFixtures("write-failures");

  async function setup(refuse: (doc: Doc, newEdits: boolean) => Verdict, target: "v1" | "v3" = "v3") {
    const [v1, v3] = await stores(2);
    const asked: Doc[] = [];
    let clock = 1_000_000;
    const events: TransformerEvent[] = [];
    const sides: TransformerSide[] = [
      { name: "v1", store: target === "v1" ? guarded(v1!, refuse, asked) : v1!, shape: V1 },
      { name: "v3", store: target === "v3" ? guarded(v3!, refuse, asked) : v3!, shape: V3 },
    ];
    const t = keep(createTransformer({ sides, steps: todoSteps, now: () => clock, retryMs: 100, onEvent: (e) => events.push(e) }));
    return { v1: v1!, v3: v3!, t, asked, events, advance: (ms: number) => (clock += ms) };
  }

  it("BAD_REQUEST is quarantined at the first failure, with an event and a status entry, and never retried", async () => {
    const { v1, v3, t, asked, events } = await setup((d) => (d._id === "todo-item-status:b" ? { code: "BAD_REQUEST", reason: "malformed" } : undefined));
    const written = await v1.put(item1("b"));
    await v1.put(item1("ok"));
    await t.drain();
    expect(await v3.get("todo-item-status:ok")).toMatchObject({ status: "active" });
    const record = { side: "v1", id: "todo-item:b", rev: written.rev, type: "todo-item", version: 1, code: "BAD_REQUEST" };
    const st = await t.status();
    expect(st.quarantine).toEqual([{ ...record, reason: expect.stringMatching(/todo-item-status:b.*v3.*BAD_REQUEST.*malformed/) }]);
    expect(st.waiting).toBe(0);
    expect(st.feeds.find((f) => f.sides.includes("v1"))?.quarantined).toBe(1);
    expect(events.filter((e) => e.type === "quarantine")).toEqual([{ type: "quarantine", record: expect.objectContaining(record) }]);
    const attempts = asked.filter(isStatus("todo-item-status:b")).length;
    await t.drain();
    expect(asked.filter(isStatus("todo-item-status:b")).length).toBe(attempts);
    expect(await readTransformerQuarantine(v1, "_local/divan-transformer")).toEqual([expect.objectContaining(record)]);
  });

  it("a 409 that persists is retried with growing delays, then quarantined with code CONFLICT", async () => {
    const { v1, t, asked, events, advance } = await setup((d) => (d._id === "todo-item-status:c" ? { code: "CONFLICT", reason: "Document update conflict" } : undefined));
    await v1.put(item1("c"));
    await t.drain();
    const tries = (): number => asked.filter(isStatus("todo-item-status:c")).length;
    const retries = (): Extract<TransformerEvent, { type: "retry" }>[] => events.filter((e): e is Extract<TransformerEvent, { type: "retry" }> => e.type === "retry");
    expect(retries().length).toBeGreaterThan(0);
    // Not retried before its delay has passed.
    const before = tries();
    await t.drain();
    expect(tries()).toBe(before);
    for (let i = 0; i < 20 && (await t.status()).quarantine.length === 0; i++) {
      advance(60 * 60 * 1000);
      await t.drain();
    }
    const st = await t.status();
    expect(st.quarantine).toEqual([expect.objectContaining({ side: "v1", id: "todo-item:c", code: "CONFLICT", reason: expect.stringMatching(/8 attempts/) })]);
    expect(st.waiting).toBe(0);
    const delays = retries().map((e) => e.retryInMs);
    expect(delays).toHaveLength(7);
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThan(delays[i - 1]!);
    expect(retries().map((e) => e.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const total = tries();
    advance(60 * 60 * 1000);
    await t.drain();
    expect(tries()).toBe(total);
  });

  it("STORE_UNAVAILABLE is retried and the write lands once the store answers", async () => {
    let down = true;
    const { v1, v3, t, events, advance } = await setup((d) => (down && d._id.startsWith("todo-item") ? "unavailable" : undefined));
    await v1.put(item1("u"));
    await t.drain();
    expect(events.some((e) => e.type === "retry" && e.code === "STORE_UNAVAILABLE")).toBe(true);
    down = false;
    advance(60 * 60 * 1000);
    await t.drain();
    expect(await v3.get("todo-item-status:u")).toMatchObject({ status: "active" });
    expect((await t.status()).quarantine).toEqual([]);
    expect((await t.status()).waiting).toBe(0);
  });

  it("a refused branch write (the winning translation of a conflict) is quarantined, not dropped", async () => {
    const { v1, v3, t, events } = await setup((_d, newEdits) => (newEdits ? undefined : { code: "FORBIDDEN", reason: "replicated writes are refused here" }), "v1");
    await v1.put(item1("f"));
    await t.drain();
    // v3 edits twice, v1 once: v3 wins, and its translation is written into v1 as a branch.
    let i3 = await v3.get("todo-item:f");
    const r1 = await v3.put({ ...i3, title: "v3 title" });
    i3 = await v3.get("todo-item:f");
    const winner = await v3.put({ ...i3, title: "v3 title 2", _rev: r1.rev });
    const o = await v1.get("todo-item:f");
    await v1.put({ ...o, title: "v1 title" });
    await t.drain();
    const st = await t.status();
    expect(st.quarantine).toEqual([expect.objectContaining({ side: "v3", id: "todo-item:f", rev: winner.rev, type: "todo-item", version: 3, code: "FORBIDDEN" })]);
    expect(events.some((e) => e.type === "quarantine" && e.record.code === "FORBIDDEN")).toBe(true);
    expect(st.waiting).toBe(0);
  });
});

for (const backend of storeBackends()) {
  describe.skipIf(backend.skipReason !== undefined)(`validate_doc_update refusals on ${backend.name}`, () => {
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());

    it("FORBIDDEN is quarantined once; a restart and divan status show it; the other todos are translated", async () => {
      const v1 = await backend.newStore();
      const v3 = await backend.newStore();
      await v3.put({
        _id: "_design/guard",
        validate_doc_update: "function (doc) { if (doc.title === 'refused') { throw { forbidden: 'no refused todos here' }; } }",
      });
      const asked: Doc[] = [];
      const target = guarded(v3, () => undefined, asked);
      const sides: TransformerSide[] = [
        { name: "v1", store: v1, shape: V1 },
        { name: "v3", store: target, shape: V3 },
      ];
      const events: TransformerEvent[] = [];
      const t = createTransformer({ sides, steps: todoSteps, onEvent: (e) => events.push(e) });
      try {
        const refused = await v1.put(item1("no", { title: "refused" }));
        await v1.put(item1("yes"));
        await t.drain();
        expect(await v3.get("todo-item:yes")).toMatchObject({ version: 3 });
        await expect(v3.get("todo-item:no")).rejects.toMatchObject({ code: "NOT_FOUND" });
        const record = { side: "v1", id: "todo-item:no", rev: refused.rev, type: "todo-item", version: 1, code: "FORBIDDEN" };
        expect((await t.status()).quarantine).toEqual([{ ...record, reason: expect.stringMatching(/todo-item:no.*v3.*no refused todos here/) }]);
        expect(events.filter((e) => e.type === "quarantine")).toHaveLength(1);
        expect((await t.status()).waiting).toBe(0);
        const attempts = asked.filter(isStatus("todo-item:no")).length;
        await t.drain();
        expect(asked.filter(isStatus("todo-item:no")).length).toBe(attempts);
      } finally {
        await t.stop();
      }

      // A restarted transformer knows the record and writes nothing; `divan status` lists it.
      const again = createTransformer({ sides, steps: todoSteps });
      try {
        expect(await again.drain()).toBe(0);
        expect((await again.status()).quarantine).toEqual([expect.objectContaining({ id: "todo-item:no", code: "FORBIDDEN" })]);
      } finally {
        await again.stop();
      }
      const lines = await transformerStatusSection({ store: v1, selected: [], now: Date.now() });
      expect(lines).toContain("  quarantined: 1");
      expect(lines.some((l) => /^ {4}todo-item:no@\S+: FORBIDDEN: .*no refused todos here.* \(todo-item@1, side v1\)$/.test(l)), lines.join("\n")).toBe(true);
    });
  });
}
