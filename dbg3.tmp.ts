import { openEnv } from "/work/wt/sim3/examples/todo-app/simulate/run.js";
import { World } from "/work/wt/sim3/examples/todo-app/world.js";
import { createStrategy } from "/work/wt/sim3/strategies/all.js";
import fs from "node:fs";
const s = JSON.parse(fs.readFileSync(process.argv[2]!, "utf8"));
const env = await openEnv("memory");
const world = await World.create({ strategy: createStrategy(s.strategy), scenario: "x", seed: s.seed, transport: "memory", registry: env.registry, apps: env.apps });
const dump = async (label: string) => {
  console.log("----", label);
  for (const [name, d] of world.devices) for (const [suf, st] of d.locals) {
    const ch = await st.changes({ style: "all_docs", includeDocs: true } as never);
    for (const c of ch.results) if (!c.id.startsWith("_")) console.log(name, suf, c.id.slice(0, 24), c.changes.map((x) => x.rev.slice(0, 8)).join(","), c.deleted ? "DEL" : "", JSON.stringify((c as {doc?: Record<string, unknown>}).doc?.["divan"] ?? ""));
  }
  for (const [suf, st] of world.serverStores) {
    const ch = await st.changes({ style: "all_docs", includeDocs: true } as never);
    for (const c of ch.results) if (!c.id.startsWith("_")) console.log("server", suf, c.id.slice(0, 24), c.changes.map((x) => x.rev.slice(0, 8)).join(","), c.deleted ? "DEL" : "", JSON.stringify((c as {doc?: Record<string, unknown>}).doc?.["divan"] ?? ""));
  }
};
for (const e of s.events) { await world.play([e]); }
await dump("after script");
for (const d of world.devices.values()) if (!d.gone) d.online = true;
await world.settle();
await dump("after settle");
await world.close();
await env.close();
