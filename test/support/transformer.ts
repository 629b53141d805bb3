/**
 * Transformer unit tests: fresh PouchDB memory stores and transformers that `afterEach` stops and
 * destroys, so every test starts clean and vitest exits by itself.
 */
import { afterEach } from "vitest";
import type { Doc, DocumentStore } from "../../store/port.js";
import { openStore } from "../../store/open.js";
import { pouchDefaults } from "../../store/pouchdb-node.js";
import type { Transformer } from "../../strategies/transformer/transformer.js";

const MemoryPouch = pouchDefaults({ adapter: "memory" });
let counter = 0;

/** Registers the clean-up and returns helpers to open stores and keep transformers. */
export function transformerFixtures(prefix: string): {
  /** `count` fresh memory stores, destroyed after the test. */
  stores(count: number): Promise<DocumentStore[]>;
  /** Stops `t` after the test; returns it. */
  keep<T extends Transformer>(t: T): T;
} {
  const open: DocumentStore[] = [];
  const running: Transformer[] = [];
  afterEach(async () => {
    for (const t of running.splice(0)) await t.stop();
    for (const s of open.splice(0)) {
      await s.destroy();
      await s.close();
    }
  });
  return {
    async stores(count) {
      const made: DocumentStore[] = [];
      for (let i = 0; i < count; i++) made.push(await openStore(`${prefix}-${process.pid}-${++counter}`, { PouchDB: MemoryPouch }));
      open.push(...made);
      return made;
    },
    keep(t) {
      running.push(t);
      return t;
    },
  };
}

/** A todo-item@1 document `todo-item:<id>` (title `todo <id>` unless `extra` says otherwise). */
export function item1(id: string, extra: Record<string, unknown> = {}): Doc {
  return { _id: `todo-item:${id}`, schema: "todo-item", version: 1, title: `todo ${id}`, isDone: false, createdAt: "2024-01-01T00:00:00.000Z", ...extra };
}
