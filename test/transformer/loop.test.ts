import { afterEach, describe, expect, it } from "vitest";
import type { Doc, DocumentStore } from "../../store/port.js";
import { openStore } from "../../store/open.js";
import { pouchDefaults } from "../../store/pouchdb-node.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { createTransformer } from "../../strategies/transformer/transformer.js";
import { seededRandom } from "../../examples/todo-app/seed.js";

const MemoryPouch = pouchDefaults({ adapter: "memory" });
const stores: DocumentStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) {
    await s.destroy();
    await s.close();
  }
});

describe("transformer: no loops", () => {
  it("1000 edits spread over v1, v2 and v3 cause at most 2 transformer writes per edit per other version, then nothing; concurrent edits are reported and kept", async () => {
    const names = ["v1", "v2", "v3"];
    for (const n of names) stores.push(await openStore(`transformer-loop-${process.pid}-${n}`, { PouchDB: MemoryPouch }));
    const [v1, v2, v3] = stores as [DocumentStore, DocumentStore, DocumentStore];
    const shapes: Record<string, number>[] = [{ "todo-item": 1 }, { "todo-item": 2 }, { "todo-item": 3, "todo-item-status": 1 }];
    const t = createTransformer({ steps: todoSteps, sides: names.map((name, i) => ({ name, store: stores[i]!, shape: shapes[i]! })) });
    // 20 todos created in v1 and translated everywhere.
    const ids = Array.from({ length: 20 }, (_, i) => `loop${i}`);
    await v1.bulkDocs(ids.map((id) => ({ _id: `todo-item:${id}`, schema: "todo-item", version: 1, title: "t", isDone: false, createdAt: "2024-01-01T00:00:00.000Z" })));
    await t.drain();
    const base = (await t.status()).writesBySide;

    const random = seededRandom(3);
    let edits = 0;
    const editsIn = [0, 0, 0];
    for (let round = 0; round < 20; round++) {
      // 50 edits per round, on random versions and todos, then the transformer catches up.
      for (let k = 0; k < 50; k++) {
        const which = Math.floor(random.next() * 3);
        const id = ids[Math.floor(random.next() * ids.length)]!;
        const store = [v1, v2, v3][which]!;
        const item: Doc = await store.get(`todo-item:${id}`);
        if (which === 0) await store.put({ ...item, title: `e${edits}`, isDone: !item["isDone"] });
        else if (which === 1) await store.put({ ...item, title: `e${edits}`, status: item["status"] === "blocked" ? "active" : "blocked" });
        else await store.put({ ...item, title: `e${edits}`, group: `g${edits % 7}` });
        edits += 1;
        editsIn[which]! += 1;
      }
      await t.drain();
    }
    expect(edits).toBe(1000);
    const after = (await t.status()).writesBySide;
    for (const [i, n] of names.entries()) {
      const editsElsewhere = edits - editsIn[i]!;
      const writes = (after[n] ?? 0) - (base[n] ?? 0);
      expect(writes, `writes into ${n}`).toBeLessThanOrEqual(2 * editsElsewhere);
      expect(writes, `writes into ${n}`).toBeGreaterThan(0);
    }
    // Quiet afterwards: nothing pending, nothing written, no feed moves.
    const marks = await Promise.all(stores.map(async (s) => (await s.changes({ since: "now" })).lastSeq));
    expect(await t.drain()).toBe(0);
    for (const [i, s] of stores.entries()) expect((await s.changes({ since: marks[i]! })).results).toEqual([]);
    // Every version shows the same last title.
    for (const id of ids) {
      const titles = await Promise.all(stores.map(async (s) => (await s.get(`todo-item:${id}`))["title"]));
      expect(new Set(titles).size, `${id}: ${titles.join(" / ")}`).toBe(1);
    }
    // Edits of one todo in two versions within a round are concurrent: each is reported, and the
    // losing revision is still in its database as a conflict revision (never dropped).
    const conflicts = (await t.status()).conflicts;
    expect(conflicts.length).toBeGreaterThan(0);
    for (const c of conflicts) {
      const store = stores[names.indexOf(c.loser)]!;
      for (const [id, rev] of Object.entries(c.loserRevs)) {
        expect((await store.get(id, { conflicts: true }))._conflicts ?? []).toContain(rev);
        expect((await store.get(id, { rev }))._rev).toBe(rev);
      }
    }
  });
});
