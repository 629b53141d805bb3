import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runComparison, type ComparisonReport } from "../../examples/todo-app/compare.js";
import { writeReports } from "../../examples/todo-app/report.js";
import { BROWSER_START_BUDGET_MS, launchChromium } from "../support/browser.js";
import { comparisonBudget } from "../support/comparison.js";

let dir: string;
let report: ComparisonReport;
let htmlPath: string;
let browser: Browser | undefined;

const options = { scenarios: ["basti", "legacy-forever"], seed: 9 };
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "divan-browser-"));
  report = await runComparison(options);
  htmlPath = (await writeReports(report, dir)).html;
  browser = await launchChromium();
}, comparisonBudget(options) + BROWSER_START_BUDGET_MS);

afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("report.html in Chromium", () => {
  it("renders the table and the charts without errors, offline", async () => {
    if (!browser) throw new Error("no browser");
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => {
      if (!r.url().startsWith("file:")) requests.push(r.url());
    });
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: "load" });

    const rows = await page.locator("#runs tbody tr").count();
    expect(rows).toBe(report.runs.length);
    const firstRow = await page.locator("#runs tbody tr").first().locator("td").allTextContents();
    expect(firstRow.slice(0, 2)).toEqual([report.runs[0]?.strategy, report.runs[0]?.scenario]);

    // The replicated-bytes chart drew bars: count non-transparent pixels on its canvas.
    const painted = await page.evaluate(() => {
      const canvas = document.getElementById("chart-replicated") as HTMLCanvasElement;
      const ctx = canvas.getContext("2d");
      if (!ctx) return 0;
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) n += 1;
      return n;
    });
    expect(painted).toBeGreaterThan(1000);
    const hasChart = await page.evaluate(() => typeof (globalThis as { Chart?: unknown }).Chart === "function");
    expect(hasChart).toBe(true);

    const shot = path.join(dir, "report.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});
