/**
 * `npm run bench [-- <name>…]`: runs every `bench/*.bench.ts` (or those whose benchmark or figure name
 * starts with one of the given names), prints `bench <name>: <number>x (<what> over <baseline>)` per
 * figure, and merges the figures into `bench/results.json`. With more than one benchmark selected, each runs in a
 * process of its own, so no benchmark's heap or compiled code (a step function made polymorphic by another's
 * shapes, say) moves another's figures.
 */
import { spawnSync } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Benchmark, Figure } from "./harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const resultsFile = join(here, "results.json");

interface Results {
  v: 1;
  figures: Record<string, Figure & { at: string; node: string }>;
}

function formatFigure(f: Figure): string {
  const higher = f.better === "higher";
  const met = f.goal === undefined ? undefined : higher ? f.value >= f.goal : f.value <= f.goal;
  const goal = f.goal === undefined ? "" : ` [goal ${higher ? "≥" : "≤"} ${f.goal}: ${met ? "met" : "MISSED"}]`;
  if (f.unit === "/s") return `bench ${f.name}: ${f.value.toFixed(0)}/s (${f.what})${goal}`;
  return f.unit === "ms"
    ? `bench ${f.name}: ${f.value.toFixed(1)} ms (${f.what})${goal}`
    : `bench ${f.name}: ${f.value.toFixed(2)}x (${f.what} over ${f.over})${goal}`;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const matches = (name: string): boolean => wanted.length === 0 || wanted.some((w) => name === w || name.startsWith(`${w}.`));
  const files = (await readdir(here)).filter((f) => f.endsWith(".bench.ts")).sort();
  const benches: Benchmark[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as { default?: Benchmark };
    if (mod.default === undefined) throw new Error(`bench/${f} has no default export (a Benchmark)`);
    benches.push(mod.default);
  }
  const selected = benches.filter((b) => matches(b.name) || wanted.some((w) => w.startsWith(`${b.name}.`)));
  if (selected.length === 0) {
    console.error(`no benchmark matches ${wanted.join(", ")}; known: ${benches.map((b) => b.name).join(", ")}`);
    process.exitCode = 1;
    return;
  }
  if (selected.length > 1) {
    for (const b of selected) {
      const names = matches(b.name) ? [b.name] : wanted.filter((w) => w.startsWith(`${b.name}.`));
      const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...names], { stdio: "inherit" });
      if (child.status !== 0) process.exitCode = child.status ?? 1;
    }
    return;
  }
  const at = new Date().toISOString();
  const mine: Results["figures"] = {};
  for (const b of selected) {
    const figures = (await b.run()).filter((f) => matches(f.name) || wanted.includes(b.name));
    for (const f of figures) {
      console.log(formatFigure(f));
      mine[f.name] = { ...f, at, node: process.version };
    }
  }
  // Read just before writing, so runs of different benchmarks side by side keep each other's figures.
  let results: Results = { v: 1, figures: {} };
  try {
    const old = JSON.parse(await readFile(resultsFile, "utf8")) as Results;
    if (old.v === 1 && typeof old.figures === "object") results = old;
  } catch {
    // first run or unreadable: start afresh
  }
  Object.assign(results.figures, mine);
  await writeFile(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
}

await main();
