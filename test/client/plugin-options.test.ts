/**
 * `db.divan.allDocs` takes PouchDB's own option names as an app passes them to `db.allDocs` (`include_docs`,
 * `start_key`, `key`, …) as well as divan's (`includeDocs`), and refuses one it does not support.
 */
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { divan } from "../../client/plugin.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { loadManifests, loadRegistry } from "../../schemas/load.js";
import type { Manifest } from "../../schemas/manifest.js";
import type { Registry } from "../../schemas/registry.js";
import { pouchDefaults } from "../../store/pouchdb-node.js";
import { uniqueDbName } from "../support/backends.js";

const root = path.resolve(import.meta.dirname, "../..");
const Pouch = pouchDefaults({ adapter: "memory" }).plugin(divan);
let registry: Registry;
let v3: Manifest;
const open: PouchDB.Database[] = [];
beforeAll(async () => {
  registry = await loadRegistry(path.join(root, "examples/todo-app/schemas"));
  v3 = (await loadManifests(path.join(root, "examples/todo-app/manifests"))).find((m) => m.version === "3.0.0")!;
});
afterEach(async () => {
  for (const d of open.splice(0)) await d.destroy();
});

const todo = (id: string): Record<string, unknown> => ({ _id: `todo-item:${id}`, schema: "todo-item", version: 1, title: id, isDone: true, createdAt: "2024-01-01T00:00:00.000Z" });

describe("db.divan.allDocs options", () => {
  it("include_docs returns the documents at the app's version, as includeDocs does; start_key, end_key and key select rows", async () => {
    const d = new Pouch(uniqueDbName("plugin-options"));
    open.push(d);
    await d.bulkDocs([todo("a"), todo("b"), todo("c")] as PouchDB.Core.PutDocument<{}>[]);
    d.divan({ registry, steps: todoSteps, manifest: v3 });
    const pouchStyle = await d.divan.allDocs({ include_docs: true });
    const divanStyle = await d.divan.allDocs({ includeDocs: true });
    expect(pouchStyle.rows.filter((r) => r.id.startsWith("todo-item:")).map((r) => r.doc?.["version"])).toEqual([3, 3, 3]);
    expect(pouchStyle.rows.filter((r) => r.id.startsWith("todo-item-status:")).map((r) => r.doc?.["status"])).toEqual(["done", "done", "done"]);
    expect(pouchStyle).toEqual(divanStyle);
    const range = await d.divan.allDocs({ include_docs: true, start_key: "todo-item:b", end_key: "todo-item:c" });
    expect(range.rows.map((r) => r.id)).toEqual(["todo-item:b", "todo-item:c"]);
    const one = await d.divan.allDocs({ include_docs: true, key: "todo-item:a" });
    expect(one.rows.map((r) => [r.id, r.doc?.["version"]])).toEqual([["todo-item:a", 3]]);
    await expect(d.divan.allDocs({ attachments: true } as never)).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });
});
