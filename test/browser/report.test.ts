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

    const shot = path.join(dir, "report-full.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  it("opens with the per-strategy summary, visible without scrolling at 1280 px wide", async () => {
    if (!browser) throw new Error("no browser");
    const viewport = { width: 1280, height: 800 };
    const page = await browser.newPage({ viewport });
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: "load" });
    const summary = page.locator("#summary");
    const rows = summary.locator("tbody tr");
    expect(await rows.count()).toBe(report.strategies.length);
    const box = await summary.boundingBox();
    if (!box) throw new Error("the summary is not rendered");
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(viewport.width);
    expect(box.y + box.height).toBeLessThanOrEqual(viewport.height);
    // Every cell of every row lies inside the viewport too (nothing is cut off to the right).
    for (const cell of await summary.locator("td").all()) {
      const b = await cell.boundingBox();
      expect(b && b.x + b.width <= viewport.width && b.y + b.height <= viewport.height).toBe(true);
    }
    // It comes first: the runs table starts below it.
    const runs = await page.locator("#runs").boundingBox();
    expect(runs?.y ?? 0).toBeGreaterThan(box.y + box.height);
    const first = await rows.first().locator("td").first().textContent();
    expect(first).toContain(report.strategies[0]?.name);
    const shot = path.join(dir, "summary-1280.png");
    await page.screenshot({ path: shot });
    expect((await stat(shot)).size).toBeGreaterThan(10_000);
    await page.close();
  });

  it("shows a failed-but-expected invariant as a documented weakness, not in success green", async () => {
    if (!browser) throw new Error("no browser");
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: "load" });
    const expected = report.runs.findIndex((r) => r.status === "expected");
    const passed = report.runs.findIndex((r) => r.status === "pass");
    expect(expected).toBeGreaterThanOrEqual(0);
    expect(passed).toBeGreaterThanOrEqual(0);
    const badge = (i: number) => page.locator("#runs tbody tr").nth(i).locator(".badge").first();
    expect(await badge(expected).textContent()).toContain("documented weakness");
    const colourOf = (i: number) => badge(i).evaluate((e) => getComputedStyle(e).backgroundColor);
    expect(await colourOf(expected)).not.toBe(await colourOf(passed));
    const [r, g, b] = (await colourOf(expected)).match(/\d+/g)?.map(Number) ?? [];
    expect(r).toBeGreaterThan(g ?? 255); // amber: more red than green, more green than blue
    expect(g).toBeGreaterThan(b ?? 255);
    await page.close();
  });
});
