/**
 * Child process of the kill test: runs one in-place migration of `<db url>` to todo v3 with a small batch
 * and prints `progress <done>` after every page, then `done` and exits 0. The parent SIGKILLs it at random points.
 *
 * Usage: node --import tsx test/runner/kill-child.ts <db url> <state db url>
 */
import { createStepGraph } from "../../adapters/path.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { httpStore } from "../../store/http.js";
import { createMigration } from "../../strategies/runner/runner.js";

const [url, stateUrl] = process.argv.slice(2);
if (url === undefined || stateUrl === undefined) throw new Error("usage: kill-child.ts <db url> <state db url>");
const store = httpStore(url);
const state = httpStore(stateUrl);
const m = createMigration({
  source: store,
  plan: { graph: createStepGraph(todoSteps), to: { "todo-item": 3, "todo-item-status": 1, settings: 1 } },
  batchSize: 10,
  concurrency: 2,
  lease: { store: state, owner: "kill-test", ttlMs: 60_000 },
});
m.on("progress", (p) => process.stdout.write(`progress ${p.done}\n`));
const report = await m.run();
process.stdout.write(`done ${JSON.stringify(report.totals)}\n`);
await store.close();
await state.close();
