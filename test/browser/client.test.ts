import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BROWSER_START_BUDGET_MS, launchChromium } from "../support/browser.js";

/** What bundling the page with esbuild may take on a loaded machine (it takes about a second). */
const BUNDLE_BUDGET_MS = 20_000;

const root = new URL("../../", import.meta.url).pathname;
let server: Server;
let browser: Browser;
let context: BrowserContext;
let base: string;
const errors: string[] = [];

type Api = {
  seedMixed(name: string): Promise<void>;
  readAll(name: string): Promise<{ id: string; doc: Record<string, unknown> | null; error: string | null }[]>;
  edit(name: string, id: string, title: string): Promise<{ item: Record<string, unknown>; status: Record<string, unknown> }>;
  seedMany(name: string, count: number): Promise<void>;
  migrate(name: string): Promise<{ migrated: number; completed: boolean; lock: string; events: number }>;
  stored(name: string): Promise<Record<string, unknown>[]>;
  deviceTransformer(
    name: string,
    timing: "eager" | "lazy",
  ): Promise<{ read: Record<string, unknown>; oldB: Record<string, unknown>; storedNew: string[]; ended: string[] }>;
};
declare const divanTest: Api;

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${base}/index.html`);
  await page.waitForFunction(() => typeof (globalThis as { divanTest?: unknown }).divanTest === "object");
  return page;
}

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [`${root}test/browser/fixtures/client-page.ts`],
    bundle: true,
    platform: "browser",
    format: "iife",
    write: false,
    logLevel: "silent",
  });
  const js = bundle.outputFiles[0]!.text;
  const html = `<!doctype html><meta charset="utf-8"><title>divan/client</title><script src="/page.js"></script>`;
  server = createServer((req, res) => {
    if (req.url === "/page.js") res.writeHead(200, { "content-type": "text/javascript" }).end(js);
    else if (req.url === "/index.html") res.writeHead(200, { "content-type": "text/html" }).end(html);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  context = await browser.newContext();
}, BUNDLE_BUDGET_MS + BROWSER_START_BUDGET_MS);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

describe("divan/client in Chromium on PouchDB's IndexedDB adapter", () => {
  it("reads documents stored as v1, v2 and v3 as v3, and writes an edit as v3", async () => {
    const page = await newPage();
    await page.evaluate(() => divanTest.seedMixed("mixed"));
    const rows = await page.evaluate(() => divanTest.readAll("mixed"));
    const byId = new Map(rows.map((r) => [r.id, r.doc]));
    expect(rows.map((r) => r.id)).toEqual(["todo-item-status:a", "todo-item-status:b", "todo-item-status:c", "todo-item:a", "todo-item:b", "todo-item:c"]);
    expect(rows.every((r) => r.error === null)).toBe(true);
    for (const id of ["todo-item:a", "todo-item:b", "todo-item:c"]) expect(byId.get(id)).toMatchObject({ schema: "todo-item", version: 3 });
    expect(byId.get("todo-item-status:a")).toMatchObject({ status: "done" });
    expect(byId.get("todo-item-status:b")).toMatchObject({ status: "blocked" });
    expect(byId.get("todo-item:c")).toMatchObject({ group: "garden" });

    const written = await page.evaluate(() => divanTest.edit("mixed", "todo-item:a", "one, edited"));
    expect(written.item).toMatchObject({ version: 3, title: "one, edited", group: "default" });
    expect(written.item).not.toHaveProperty("isDone");
    expect(written.status).toMatchObject({ schema: "todo-item-status", version: 1, status: "done" });
    await page.close();
    expect(errors).toEqual([]);
  });

  it("two tabs open the same database: exactly one migrates it (Web Locks), the other waits and writes nothing", async () => {
    const [a, b] = [await newPage(), await newPage()];
    await a.evaluate(() => divanTest.seedMany("tabs", 120));
    const [ra, rb] = await Promise.all([a.evaluate(() => divanTest.migrate("tabs")), b.evaluate(() => divanTest.migrate("tabs"))]);
    expect(ra.lock).toBe("web-locks");
    expect([ra.migrated, rb.migrated].sort((x, y) => x - y)).toEqual([0, 120]);
    expect(ra.completed && rb.completed).toBe(true);
    expect(Math.max(ra.events, rb.events)).toBeGreaterThan(1);
    const stored = await b.evaluate(() => divanTest.stored("tabs"));
    expect(stored).toHaveLength(240);
    expect(stored.filter((d) => d["schema"] === "todo-item" && d["version"] !== 3)).toEqual([]);
    expect(stored.filter((d) => d["_conflicts"] !== undefined)).toEqual([]);
    await a.close();
    await b.close();
    expect(errors).toEqual([]);
  });

  it("a new-app device's transformer (startDeviceTransformer): eager back-fills and translates the app's edit, lazy stores only what the app writes", async () => {
    const page = await newPage();
    const eager = await page.evaluate(() => divanTest.deviceTransformer("dt-eager", "eager"));
    expect(eager.read).toMatchObject({ _id: "todo-item:a", version: 3, title: "one" });
    expect(eager.oldB).toMatchObject({ version: 1, title: "two, edited" });
    expect(eager.storedNew).toEqual(["todo-item:a:v:3", "todo-item:b:v:3"]);
    expect(eager.ended).toEqual([]);
    const lazy = await page.evaluate(() => divanTest.deviceTransformer("dt-lazy", "lazy"));
    expect(lazy.read).toMatchObject({ _id: "todo-item:a", version: 3, title: "one" });
    expect(lazy.oldB).toMatchObject({ version: 1, title: "two, edited" });
    expect(lazy.storedNew).toEqual(["todo-item-status:b", "todo-item:b"]);
    await page.close();
    expect(errors).toEqual([]);
  });
});
