/**
 * `bench steps.compiled-vs-hand`: the compiled todo 1→3 path over a hand-written function doing the
 * same translation (isDone → status document, group default), 100k documents, same run.
 */
import { isDeepStrictEqual } from "node:util";
import { createStepGraph } from "../adapters/path.js";
import type { Entity } from "../adapters/types.js";
import { todoShapes, todoSteps } from "../examples/todo-app/steps/index.js";
import { ratioOfMedians, type Benchmark } from "./harness.js";

const N = 100_000;

/** Deterministic todo v1 entities (a tiny LCG: no randomness from outside). */
function makeDocs(n: number): Entity[] {
  let seed = 12345;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const out: Entity[] = [];
  for (let i = 0; i < n; i++) {
    const id = next().toString(16).padStart(8, "0") + i.toString(16);
    out.push({
      "todo-item": {
        _id: `todo-item:${id}`,
        _rev: `1-${id}`,
        schema: "todo-item",
        version: 1,
        title: `todo number ${i}`,
        isDone: next() % 2 === 0,
        ...(i % 3 === 0 ? { isImportant: true } : {}),
        createdAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
      },
    });
  }
  return out;
}

/** What an app team would write by hand for 1→3 (no base). */
function handWritten(e: Entity): Entity {
  const { isDone, ...rest } = e["todo-item"]!;
  const entityId = rest._id!.slice("todo-item:".length);
  return {
    "todo-item": { ...rest, version: 3, group: "default" },
    "todo-item-status": { _id: `todo-item-status:${entityId}`, schema: "todo-item-status", version: 1, status: isDone === true ? "done" : "active" },
  };
}

const bench: Benchmark = {
  name: "steps",
  run() {
    const docs = makeDocs(N);
    const compiled = createStepGraph(todoSteps).path(todoShapes.v1, todoShapes.v3);
    for (let i = 0; i < 1000; i++) {
      if (!isDeepStrictEqual(compiled(docs[i]!), handWritten(docs[i]!))) throw new Error(`compiled and hand-written differ on ${docs[i]!["todo-item"]!._id}`);
    }
    let sink = 0;
    const ratio = ratioOfMedians(
      () => {
        for (let i = 0; i < N; i++) sink += Object.keys(compiled(docs[i]!)).length;
      },
      () => {
        for (let i = 0; i < N; i++) sink += Object.keys(handWritten(docs[i]!)).length;
      },
    );
    if (sink === 0) throw new Error("unreachable");
    return [{ name: "steps.compiled-vs-hand", value: ratio, what: "compiled todo 1→3 path, 100k docs", over: "hand-written function", goal: 1.5 }];
  },
};

export default bench;
