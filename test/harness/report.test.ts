import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runComparison, type ComparisonReport } from "../../examples/todo-app/compare.js";
import { renderMarkdown, renderSummaryMarkdown, renderTable, strategyColours, writeReports } from "../../examples/todo-app/report.js";
import { caveatWords, disagreements, summarise, TRADEOFFS } from "../../examples/todo-app/summary.js";
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

  it("summarises one row per strategy from its runs, with the five trade-offs next to the article's claims", () => {
    const rows = summarise(report);
    expect(rows.map((r) => r.strategy)).toEqual(report.strategies.map((s) => s.name));
    expect(TRADEOFFS.map((t) => t.title)).toEqual(["Legacy app support", "Seamless migration", "Simplicity", "Deduplication", "Conflict safety"]);
    for (const row of rows) {
      const runs = report.runs.filter((r) => r.strategy === row.strategy && r.status !== "error");
      expect(row.pass + row.expected + row.fail + row.error).toBe(report.runs.filter((r) => r.strategy === row.strategy).length);
      expect(row.downtimeMs).toBe(Math.max(0, ...runs.map((r) => r.metrics.downtimeMs)));
      expect(row.conflicts).toBe(runs.reduce((n, r) => n + r.metrics.conflicts, 0));
      expect(Object.keys(row.tradeoffs).sort()).toEqual(TRADEOFFS.map((t) => t.id).sort());
      for (const t of TRADEOFFS) {
        const cell = row.tradeoffs[t.id];
        expect(cell.claim).toBe(t.claim(row.taxonomy));
        if (cell.claim !== undefined) expect(cell.agrees).toBe((cell.verdict === "yes") === (cell.claim === "yes"));
      }
      // Conflict safety is measured: yes exactly when no run ended with a conflict.
      expect(row.tradeoffs.conflicts.verdict === "yes").toBe(row.conflicts === 0);
      // Seamless: no when a run had downtime.
      if (row.downtimeMs > 0) expect(row.tradeoffs.seamless.verdict).toBe("no");
    }
    // The article's claims as it states them: single-version cannot support legacy apps; server-side is simpler.
    const claim = (id: string, storage: "single-version" | "multi-version" | "multi-db", place: "server" | "client") =>
      TRADEOFFS.find((t) => t.id === id)?.claim({ storage, timing: "eager", place });
    expect(claim("legacy", "single-version", "server")).toBe("no");
    expect(claim("legacy", "multi-db", "server")).toBe("yes");
    expect(claim("simplicity", "single-version", "client")).toBe("no");
    expect(claim("deduplication", "multi-db", "client")).toBe("no");
    expect(claim("conflicts", "single-version", "server")).toBe("yes");
    // Every disagreement names strategies whose verdict is not the claim, and each is in the Markdown summary.
    const md = renderSummaryMarkdown(report);
    for (const d of disagreements(rows)) {
      for (const s of d.strategies) {
        const row = rows.find((r) => r.strategy === s.name);
        expect(row?.tradeoffs[d.tradeoff].agrees).toBe(false);
        expect(md).toContain(s.name);
      }
    }
    expect(renderMarkdown(report)).toContain("## Which strategy?");
  });

  it("says caveats in words, grouped by when they apply", () => {
    expect(caveatWords([])).toBe("none");
    expect(
      caveatWords([
        { invariant: "apps-read-their-data", when: "old-app-after-release", reason: "r" },
        { invariant: "no-lost-fields", when: "old-app-wrote-after-release", reason: "r" },
        { invariant: "expected-conflicts-only", when: "old-app-wrote-after-release", reason: "r" },
        { invariant: "converged", reason: "r" },
      ]),
    ).toBe("old app after release: unreadable data; old-app writes after release: edits missing, conflicts; always: replicas differ");
  });

  it("gives every strategy of the comparison a colour of its own (CIE76 distance of at least 20 between any two)", () => {
    const colours = strategyColours(report.strategies.length);
    expect(colours).toHaveLength(report.strategies.length);
    const lab = (hex: string): [number, number, number] => {
      const [r, g, b] = [1, 3, 5].map((i) => {
        const c = parseInt(hex.slice(i, i + 2), 16) / 255;
        return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      }) as [number, number, number];
      const f = (t: number): number => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
      const x = f((r * 0.4124 + g * 0.3576 + b * 0.1805) / 0.95047);
      const y = f(r * 0.2126 + g * 0.7152 + b * 0.0722);
      const z = f((r * 0.0193 + g * 0.1192 + b * 0.9505) / 1.08883);
      return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
    };
    for (const [i, a] of colours.entries()) {
      expect(a).toMatch(/^#[0-9a-f]{6}$/);
      for (const b of colours.slice(i + 1)) {
        const [p, q] = [lab(a), lab(b)];
        expect(Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]), `${a} vs ${b}`).toBeGreaterThanOrEqual(20);
      }
    }
  });
});
