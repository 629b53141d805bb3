import { describe, expect, it } from "vitest";
import { item1, transformerFixtures } from "../support/transformer.js";
import type { DocumentStore, LocalDoc } from "../../store/port.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { createTransformer } from "../../strategies/transformer/transformer.js";

const fixtures = transformerFixtures("transformer-ckpt");

/** `store` whose checkpoint writes wait until `release()` (everything else passes through). */
function heldCheckpoints(store: DocumentStore): { store: DocumentStore; held(): number; release(): void } {
  const waiting: (() => void)[] = [];
  let open = false;
  const wrapped = new Proxy(store, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== "function") return v;
      if (prop !== "putLocal") return (v as (...a: unknown[]) => unknown).bind(target);
      return async (doc: LocalDoc) => {
        if (!open) await new Promise<void>((resolve) => waiting.push(resolve));
        return target.putLocal(doc);
      };
    },
  });
  return {
    store: wrapped,
    held: () => waiting.length,
    release: () => {
      open = true;
      for (const r of waiting.splice(0)) r();
    },
  };
}

async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${what} never happened`);
}

describe("transformer checkpoint saves", () => {
  it("translate the next writes while a checkpoint save is in flight, and stop() saves the position reached", async () => {
    const raw = await fixtures.stores(2);
    const [v1, v3] = raw as [DocumentStore, DocumentStore];
    const h1 = heldCheckpoints(v1);
    const t = fixtures.keep(
      createTransformer({
        steps: todoSteps,
        checkpointMs: 0, // a save is due after every batch
        sides: [
          { name: "v1", store: h1.store, shape: { "todo-item": 1 } },
          { name: "v3", store: v3, shape: { "todo-item": 3, "todo-item-status": 1 } },
        ],
      }),
    );
    await t.start();
    await v1.put(item1("a"));
    await until("the first checkpoint save", () => h1.held() > 0);
    // The save hangs; later writes still reach v3.
    await v1.put(item1("b"));
    await v1.put(item1("c"));
    await until("b and c in v3", async () =>
      (await v3.allDocs({ keys: ["todo-item:b", "todo-item:c"] })).rows.every((r) => r.value !== undefined),
    );
    expect(h1.held()).toBe(1); // one save per database at a time
    h1.release();
    await t.stop();
    const checkpoint = await v1.getLocal("divan-transformer");
    const last = (await v1.changes()).lastSeq;
    expect(checkpoint?.["since"]).toBe(last);
    // A restarted transformer finds nothing left to do.
    const again = createTransformer({
      steps: todoSteps,
      sides: [
        { name: "v1", store: v1, shape: { "todo-item": 1 } },
        { name: "v3", store: v3, shape: { "todo-item": 3, "todo-item-status": 1 } },
      ],
    });
    expect(await again.drain()).toBe(0);
    expect((await again.status()).feeds.find((f) => f.sides.includes("v1"))?.processed).toBe(0);
  });
});
