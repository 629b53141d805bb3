/**
 * What a new-app device of `amended` reads after each sync: the late writes it amends are looked for among the changes
 * since its last pass began, and the documents it migrates among the changes since its last migration, not in its
 * whole database.
 */
import { describe, expect, it } from "vitest";
import { createStrategy } from "../../examples/strategies.js";
import { runScript } from "../../examples/todo-app/simulate/run.js";
import type { AllDocsOptions, ChangesOptions, DocumentStore } from "../../store/port.js";
import type { DeviceContext, Strategy } from "../../strategies/types.js";
import { useRegressionEnv } from "../simulation/holds.js";

const { env } = useRegressionEnv();

/**
 * `amended`, with the `changes` reads of each device's main database that scan the feed (no `docIds`) noted in
 * `reads`, and its `allDocs` reads that scan the database (no `keys`) in `scans`.
 */
function watched(reads: Map<string, ChangesOptions[]>, scans: Map<string, AllDocsOptions[]>): Strategy {
  const inner = createStrategy("amended");
  const spied = (device: DeviceContext): DeviceContext => {
    const local = device.local;
    const noted = reads.get(device.device) ?? [];
    reads.set(device.device, noted);
    const scanned = scans.get(device.device) ?? [];
    scans.set(device.device, scanned);
    const changes: DocumentStore["changes"] = (options) => {
      if (options?.docIds === undefined) noted.push({ ...options });
      return local.changes(options);
    };
    const allDocs: DocumentStore["allDocs"] = (options) => {
      if (options?.keys === undefined) scanned.push({ ...options });
      return local.allDocs(options);
    };
    const spy: Partial<Record<PropertyKey, unknown>> = { changes, allDocs };
    return { ...device, local: new Proxy(local, { get: (target, key) => (key in spy ? spy[key] : Reflect.get(target, key, target) as unknown) }) };
  };
  return { ...inner, openDevice: (device) => inner.openDevice(spied(device)), upgradeDevice: (device, from, binding) => inner.upgradeDevice(spied(device), from, binding) };
}

describe("amended: a new-app device's pass after a sync", () => {
  it("looks for late writes among the changes since its last pass began: only its first pass reads the feed from the start", async () => {
    const reads = new Map<string, ChangesOptions[]>();
    const pages = new Map<string, AllDocsOptions[]>();
    const v = await runScript(
      () => watched(reads, pages),
      {
        seed: 1,
        events: [
          { kind: "device", device: "d1", app: "old" },
          { kind: "create", device: "d1", todo: "t1", title: "title 1" },
          { kind: "create", device: "d1", todo: "t2", title: "title 2" },
          { kind: "sync", device: "d1" },
          { kind: "release" },
          { kind: "device", device: "d2", app: "new" },
          { kind: "sync", device: "d2" },
          { kind: "edit-title", device: "d1", todo: "t1", title: "title 3" },
          { kind: "sync", device: "d1" },
          { kind: "settle" },
          { kind: "sync", device: "d2" },
          { kind: "sync", device: "d2" },
        ],
      },
      env(),
    );
    expect(v.details).toEqual([]);
    const scans = (reads.get("d2") ?? []).filter((o) => o.style === "all_docs");
    // Three passes (one per sync), each reading the feed for concurrent deletions and for conflicts to merge.
    expect(scans.length).toBeGreaterThanOrEqual(6);
    const fromStart = scans.filter((o) => o.since === undefined);
    expect(fromStart).toHaveLength(2);
    expect(scans.slice(0, 2)).toEqual(fromStart);
    // Only the first pass pages through the database; the later ones migrate what the feed lists.
    // (The runner pages with `conflicts`; the app's own reads of its todos do not.)
    const paged = (pages.get("d2") ?? []).filter((o) => o.conflicts === true);
    expect(paged).toHaveLength(1);
  });
});
