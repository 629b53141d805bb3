import { afterEach, describe, expect, it } from "vitest";
import { migrateLocal } from "../../client/migrate.js";
import { withLock } from "../../client/lock.js";
import { pouchDefaults } from "../../store/pouchdb-node.js";
import { pouchStore } from "../../store/pouch.js";
import type { Doc } from "../../store/port.js";
import { todoSteps, todoShapes } from "../../examples/todo-app/steps/index.js";

const Pouch = pouchDefaults({ adapter: "memory" });
const open: PouchDB.Database[] = [];
let n = 0;
afterEach(async () => {
  for (const d of open.splice(0)) await d.destroy();
});

async function seeded(count: number): Promise<PouchDB.Database> {
  const db = new Pouch(`migrate-${process.pid}-${++n}`);
  open.push(db);
  const docs: Doc[] = [];
  for (let i = 0; i < count; i++) {
    const id = String(i).padStart(4, "0");
    docs.push({ _id: `todo-item:${id}`, schema: "todo-item", version: 1, title: `t${id}`, isDone: i % 3 === 0, createdAt: "2024-03-01T09:30:00.000Z" });
  }
  await pouchStore(db).bulkDocs(docs);
  return db;
}

describe("migrateLocal", () => {
  it("migrates every document to the target shape with progress events", async () => {
    const db = await seeded(120);
    const progress: number[] = [];
    const { report, lock } = await migrateLocal(db, { steps: todoSteps, to: todoShapes.v3, batchSize: 50, onProgress: (p) => progress.push(p.done) });
    expect(lock).toBe("none");
    expect(report.totals.migrated).toBe(120);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress[progress.length - 1]).toBe(120);
    const item = await db.get<Record<string, unknown>>("todo-item:0003");
    expect(item).toMatchObject({ version: 3, group: "default" });
    expect(await db.get("todo-item-status:0003")).toMatchObject({ status: "done" });
  });

  it("resumes from its _local checkpoint after an interrupted run", async () => {
    const db = await seeded(150);
    const ctl = new AbortController();
    const first = await migrateLocal(db, {
      steps: todoSteps,
      to: todoShapes.v3,
      batchSize: 50,
      signal: ctl.signal,
      onProgress: (p) => {
        if (p.done >= 50) ctl.abort();
      },
    });
    expect(first.report.completed).toBe(false);
    const checkpoint = await pouchStore(db).getLocal(`divan-migration-${first.report.id}`);
    expect(checkpoint).toMatchObject({ v: 1, phase: "scan" });
    const second = await migrateLocal(db, { steps: todoSteps, to: todoShapes.v3, batchSize: 50 });
    expect(second.report.resumed).toBe(true);
    expect(second.report.completed).toBe(true);
    expect(first.report.totals.migrated + second.report.totals.migrated).toBe(150);
  });

  it("two contenders on one database (BroadcastChannel election): exactly one migrates, the other waits and finds nothing to do", async () => {
    const db = await seeded(80);
    const [a, b] = await Promise.all([
      migrateLocal(db, { steps: todoSteps, to: todoShapes.v3, lock: "broadcast-channel", batchSize: 20 }),
      migrateLocal(db, { steps: todoSteps, to: todoShapes.v3, lock: "broadcast-channel", batchSize: 20 }),
    ]);
    expect([a.report.totals.migrated, b.report.totals.migrated].sort((x, y) => x - y)).toEqual([0, 80]);
    const conflicts = await db.allDocs({ conflicts: true, include_docs: true });
    expect(conflicts.rows.filter((r) => (r.doc as { _conflicts?: unknown[] } | undefined)?._conflicts !== undefined)).toEqual([]);
  });

  it("the BroadcastChannel lock never lets two holders overlap", async () => {
    let inside = 0;
    let overlap = false;
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2].map((i) =>
        withLock(
          "overlap-test",
          async () => {
            inside += 1;
            if (inside > 1) overlap = true;
            await new Promise((r) => setTimeout(r, 30));
            order.push(i);
            inside -= 1;
          },
          { kind: "broadcast-channel", windowMs: 20 },
        ),
      ),
    );
    expect(overlap).toBe(false);
    expect([...order].sort()).toEqual([0, 1, 2]);
  });
});
