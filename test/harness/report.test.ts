import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runComparison, type ComparisonReport } from "../../examples/todo-app/compare.js";
import { renderMarkdown, renderTable, writeReports } from "../../examples/todo-app/report.js";
import { countLoc } from "../../examples/todo-app/metrics.js";
import { strategyNames } from "../../examples/strategies.js";
import { comparisonBudget } from "../support/comparison.js";

const METRICS = [
  "legacySupport",
  "downtimeMs",
  "lostDocs",
  "lostFields",
  "conflicts",
  "serverDocs",
  "serverBytes",
  "deviceDocs",
  "deviceBytes",
  "replicatedBytes",
  "replicatedBytesPerDevice",
  "wireBytes",
  "wallMs",
  "migrationLoc",
];

let report: ComparisonReport;
const options = { scenarios: ["basti", "marten"], seed: 5 };
beforeAll(async () => {
  report = await runComparison(options);
}, comparisonBudget(options)); // every registered strategy × two scenarios with real replication

describe("the comparison report", () => {
  it("runs every registered strategy and has every metric for every strategy × scenario", () => {
    expect(report.strategies.map((s) => s.name)).toEqual(strategyNames());
    expect(report.runs).toHaveLength(strategyNames().length * 2);
    for (const run of report.runs) {
      expect(Object.keys(run.taxonomy).sort()).toEqual(["place", "storage", "timing"]);
      for (const m of METRICS) expect(run.metrics, `${run.strategy} × ${run.scenario}`).toHaveProperty(m);
      expect(run.invariants.length).toBe(6);
      for (const i of run.invariants) expect(Object.keys(i).sort()).toEqual(["detail", "expected", "name", "ok", "violations"]);
      expect(run.metrics.serverDocs).toBeGreaterThan(0);
      // Device counts differ from the server's by design (channels, per-version databases, translated views).
      expect(run.metrics.deviceDocs).toBeGreaterThan(0);
      // Basti runs two devices (phone, web), Marten three (web, marten, office).
      const devices = run.scenario === "basti" ? 2 : 3;
      if (run.status !== "error") expect(run.metrics.replicatedBytesPerDevice).toBe(Math.round(run.metrics.replicatedBytes / devices));
    }
  });

  it("writes report.md, report.json and a self-contained report.html", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "divan-report-"));
    try {
      const written = await writeReports(report, dir);
      const json = JSON.parse(await readFile(written.json, "utf8")) as ComparisonReport;
      expect(json).toEqual(JSON.parse(JSON.stringify(report)));
      const md = await readFile(written.markdown, "utf8");
      expect(md).toContain(renderTable(report));
      expect(md).toMatch(/### none × basti\n\nLegacy support: partial — /);
      const html = await readFile(written.html, "utf8");
      expect(html).not.toMatch(/<script[^>]+src=/);
      expect(html).not.toMatch(/<link[^>]+href=/);
      expect(html).toContain('<table id="runs">');
      expect(html.length).toBeGreaterThan(100_000); // chart.js is inlined
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("prints one table row per run, pipes escaped", () => {
    const lines = renderTable(report).split("\n");
    expect(lines).toHaveLength(2 + report.runs.length);
    expect(lines[2]).toMatch(/^\| none \| basti \| single-version \/ none \/ none \| 1\.0\.0 → 3\.0\.0 \| expected \|/);
    expect(renderMarkdown(report)).toContain("## Strategies");
  });

  it("counts migration code lines without blanks and comments", () => {
    expect(countLoc("// c\n\nconst a = 1;\n/* x\n y */\nconst b = 2; // t\n/** d */ const c = 3;\n")).toBe(3);
  });
});
