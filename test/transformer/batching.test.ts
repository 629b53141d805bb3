import { describe, expect, it } from "vitest";
import { item1, transformerFixtures } from "../support/transformer.js";
import type { DocumentStore } from "../../store/port.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import {
  createTransformer,
  type Transformer,
  type TransformerOptions,
  type TransformerSide,
} from "../../strategies/transformer/transformer.js";

const fixtures = transformerFixtures("transformer-batching");

/** A store that counts the calls made to it (the transformer only sees the wrapper). */
function counting(store: DocumentStore): { store: DocumentStore; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const wrapped = new Proxy(store, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, calls };
}

async function three(extra: Partial<TransformerOptions> = {}) {
  const raw = await fixtures.stores(3);
  const [c1, c2, c3] = raw.map(counting) as [ReturnType<typeof counting>, ReturnType<typeof counting>, ReturnType<typeof counting>];
  const sides: TransformerSide[] = [
    { name: "v1", store: c1.store, shape: { "todo-item": 1 } },
    { name: "v2", store: c2.store, shape: { "todo-item": 2 } },
    { name: "v3", store: c3.store, shape: { "todo-item": 3, "todo-item-status": 1 } },
  ];
  const make = (more: Partial<TransformerOptions> = {}): Transformer => {
    return fixtures.keep(createTransformer({ steps: todoSteps, sides, ...extra, ...more }));
  };
  return { v1: raw[0]!, v2: raw[1]!, v3: raw[2]!, c1, c2, c3, make };
}

/** Resolves when `store` holds `count` live documents (checked on its changes feed, 10 s at most). */
async function until(store: DocumentStore, count: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if ((await store.info()).docCount >= count) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${store.name} never reached ${count} documents`);
}

describe("transformer batching, live feed and checkpoints", () => {
  it("translates live writes from the feed itself: no target reads for new todos, one bulk write per target per tick, no polling when idle", async () => {
    const { v1, v3, c1, c2, c3, make } = await three({ retryMs: 20 });
    const t = make();
    await t.start();
    // Writes made before the transformer follows live are read as a catch-up page, which reads the targets.
    for (let i = 0; i < 1000 && !(await t.status()).feeds.every((f) => f.live); i++) await new Promise((r) => setTimeout(r, 5));
    await v1.bulkDocs(Array.from({ length: 40 }, (_, i) => item1(`a${i}`)));
    await until(v3, 80);
    const status = await t.status();
    expect(status.writeSets).toBe(80); // 40 todos × (v2 + v3)
    expect(status.writes).toBe(120); // v2 item + v3 item and status
    // New documents: nothing was read from the targets, and every own write came back unread.
    expect(c2.calls["allDocs"] ?? 0).toBe(0);
    expect(c3.calls["allDocs"] ?? 0).toBe(0);
    expect(c1.calls["allDocs"] ?? 0).toBe(0); // the feed carried the v1 documents
    expect(c2.calls["bulkDocs"]).toBeLessThanOrEqual(40);
    // Quiet: wait well past retryMs, then no store is asked anything.
    await t.drain();
    const before = JSON.stringify([c1.calls, c2.calls, c3.calls]);
    await new Promise((r) => setTimeout(r, 200));
    expect(JSON.stringify([c1.calls, c2.calls, c3.calls])).toBe(before);
  });

  it("checkpoints every checkpointEvery changes, not per change, and a restart resumes from the last save", async () => {
    const { v1, v3, c1, make } = await three({ checkpointEvery: 25, checkpointMs: 60_000, batchSize: 5 });
    const first = make();
    for (let i = 0; i < 50; i++) await v1.put(item1(`c${i}`));
    await first.drain();
    // 50 changes in pages of 5 would be 10 checkpoints per page-save; throttled: 2 by count + 1 final.
    expect(c1.calls["putLocal"]).toBeLessThanOrEqual(3);
    expect((await v3.info()).docCount).toBe(100);
    await first.stop();
    for (let i = 50; i < 53; i++) await v1.put(item1(`c${i}`));
    const second = make();
    expect(await second.drain()).toBe(3 * 3);
    expect((await second.status()).feeds.find((f) => f.sides.includes("v1"))?.processed).toBe(3);
  });

  it("a transformer without our checkpoint skips pristine transformer output unread and writes nothing", async () => {
    const { v1, make } = await three();
    for (let i = 0; i < 10; i++) await v1.put(item1(`p${i}`));
    expect(await make({ checkpointId: "a" }).drain()).toBe(30);
    const other = make({ checkpointId: "b" }); // reads every feed from the start, with no memory of the writes
    expect(await other.drain()).toBe(0);
    expect((await other.status()).skippedOwn).toBe(30);
  });

  it("a new todo whose id the target already holds (concurrent creation) falls back to reading it: one conflict, reported, the loser kept", async () => {
    const { v1, v2, v3, make } = await three();
    await v1.put(item1("z", { title: "from 1.0" }));
    await v2.put({
      _id: "todo-item:z",
      schema: "todo-item",
      version: 2,
      title: "from 2.0",
      status: "blocked",
      isImportant: false,
      createdAt: "2024-01-01T00:00:00.000Z",
    });
    const t = make();
    await t.drain();
    const status = await t.status();
    expect(status.conflicts).toHaveLength(1);
    expect(status.quarantine).toEqual([]);
    const c = status.conflicts[0]!;
    const titles = await Promise.all([v1, v2, v3].map(async (s) => (await s.get("todo-item:z"))["title"]));
    expect(new Set(titles).size).toBe(1);
    const loser = c.loser === "v1" ? v1 : v2;
    for (const [id, rev] of Object.entries(c.loserRevs)) expect((await loser.get(id, { conflicts: true }))._conflicts ?? []).toContain(rev);
    expect(await t.drain()).toBe(0);
  });
});
