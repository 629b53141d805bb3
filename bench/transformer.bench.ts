/**
 * `bench transformer.*`: a steady 200 writes/s of new todo-item@1 documents into `v1` for 30 s
 * (`DIVAN_BENCH_TRANSFORMER_SECONDS` shortens it) on the embedded server, with the transformer running
 * live between `v1`, `v2` and `v3`. Lag is the time from a write's start to its todo-item@3 appearing
 * in `v3`'s `_changes` feed. Prints, besides the harness lines:
 * `bench transformer.p99-lag: <ms> ms` (goal ≤ 50 ms), `bench transformer.p50-lag: <ms> ms` and
 * `bench transformer.writes-per-write: <n>x` (transformer writes per user write, over all other versions).
 * Lags are absolute milliseconds on this machine (the issue asks for them), not ratios.
 */
import { performance } from "node:perf_hooks";
import { todoSteps } from "../examples/todo-app/steps/index.js";
import { startEmbeddedServer } from "../server/embedded.js";
import { openStore } from "../store/open.js";
import { createTransformer } from "../strategies/transformer/transformer.js";
import type { Benchmark, Figure } from "./harness.js";

const RATE = 200;

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

const bench: Benchmark = {
  name: "transformer",
  async run(): Promise<Figure[]> {
    const seconds = Number(process.env["DIVAN_BENCH_TRANSFORMER_SECONDS"] ?? "30");
    const total = Math.max(1, Math.round(RATE * seconds));
    const server = await startEmbeddedServer();
    const [v1, v2, v3] = await Promise.all(["v1", "v2", "v3"].map((n) => openStore(`${server.url}/bench-transformer-${n}`)));
    const t = createTransformer({
      steps: todoSteps,
      retryMs: 100,
      sides: [
        { name: "v1", store: v1!, shape: { "todo-item": 1 } },
        { name: "v2", store: v2!, shape: { "todo-item": 2 } },
        { name: "v3", store: v3!, shape: { "todo-item": 3, "todo-item-status": 1 } },
      ],
    });
    const started = new Map<string, number>();
    const lags: number[] = [];
    let allSeen: () => void = () => undefined;
    const done = new Promise<void>((r) => (allSeen = r));
    const feed = v3!.liveChanges(
      { since: "now" },
      {
        onChange: (c) => {
          const t0 = started.get(c.id);
          if (t0 === undefined) return;
          started.delete(c.id);
          lags.push(performance.now() - t0);
          if (lags.length === total) allSeen();
        },
      },
    );
    await t.start();
    const t0 = performance.now();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const id = `b${i.toString(16).padStart(8, "0")}`;
      started.set(`todo-item:${id}`, performance.now());
      writes.push(v1!.put({ _id: `todo-item:${id}`, schema: "todo-item", version: 1, title: `todo ${i}`, isDone: false, createdAt: "2024-01-01T00:00:00.000Z" }));
    }
    await Promise.all(writes);
    await Promise.race([done, new Promise((r) => setTimeout(r, 30_000))]);
    await t.idle();
    const status = await t.status();
    await t.stop();
    await feed.stop();
    for (const s of [v1!, v2!, v3!]) {
      await s.destroy();
      await s.close();
    }
    await server.close();

    const p99 = percentile(lags, 99);
    const p50 = percentile(lags, 50);
    const perWrite = status.writes / total;
    console.log(`bench transformer.p99-lag: ${p99.toFixed(1)} ms (${lags.length}/${total} writes reached v3, ${seconds} s at ${RATE}/s; goal ≤ 50 ms)`);
    console.log(`bench transformer.p50-lag: ${p50.toFixed(1)} ms`);
    console.log(`bench transformer.writes-per-write: ${perWrite.toFixed(2)}x (v2 item + v3 item and status per v1 write)`);
    return [
      { name: "transformer.p99-lag", value: p99, what: "p99 lag v1 write → v3 feed, ms", over: "1 ms (absolute)", goal: 50 },
      { name: "transformer.p50-lag", value: p50, what: "p50 lag v1 write → v3 feed, ms", over: "1 ms (absolute)" },
      { name: "transformer.writes-per-write", value: perWrite, what: "transformer writes", over: "user writes into v1" },
    ];
  },
};

export default bench;
