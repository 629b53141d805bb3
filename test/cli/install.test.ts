/**
 * The packed package as a user installs it: `npm pack`, installed into an empty folder, brings none of the
 * optional peers (express, tsx, chart.js, the LevelDB adapter); its CLI and its three entry points work there.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./support.js";

const exec = promisify(execFile);
const OPTIONAL_PEERS = ["express", "tsx", "chart.js", "pouchdb-adapter-leveldb"];
// `npm install` uses the npm cache first and the registry for what the cache lacks.
const NPM_INSTALL = ["install", "--prefer-offline", "--no-audit", "--no-fund"];
let dir: string;
let tarball: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: readonly string[], cwd: string): Promise<Run> {
  try {
    const r = await exec(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const r = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof r.code === "number" ? r.code : 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }
}

/** `divan <args>` through the installed bin. */
function divan(args: readonly string[], cwd: string): Promise<Run> {
  return run(path.join(dir, "node_modules", ".bin", "divan"), args, cwd);
}

/** Imports `specifier` from the install folder; resolves to the number of its exports. */
async function importFromInstall(specifier: string): Promise<Run> {
  return run(process.execPath, ["--input-type=module", "-e", `const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).length);`], dir);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "divan-install-"));
  const packed = await run("npm", ["pack", "--silent", "--pack-destination", dir], ROOT);
  expect(packed.code, packed.stderr).toBe(0);
  tarball = path.join(dir, packed.stdout.trim().split("\n").pop()!);
  await writeFile(path.join(dir, "package.json"), JSON.stringify({ name: "divan-install-test", private: true, type: "module" }));
  const installed = await run("npm", [...NPM_INSTALL, tarball], dir);
  expect(installed.code, installed.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("the packed divan", () => {
  it("has types every ESM resolution finds (arethetypeswrong, ESM-only profile)", async () => {
    const attw = await run(path.join(ROOT, "node_modules", ".bin", "attw"), ["--profile", "esm-only", "--format", "json", tarball], dir);
    expect(attw.code, attw.stdout).toBe(0);
    const report = JSON.parse(attw.stdout) as { analysis: { entrypoints: Record<string, { resolutions: Record<string, unknown> }> } };
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual([".", "./client", "./server"]);
  });
});

describe("the packed divan installed into an empty folder", () => {
  it("installs none of the optional peers", async () => {
    const modules = await readdir(path.join(dir, "node_modules"));
    expect(modules).toContain("divan");
    expect(OPTIONAL_PEERS.filter((p) => modules.includes(p))).toEqual([]);
  });

  it("runs divan --help and imports divan and divan/client without the peers", async () => {
    const help = await divan(["--help"], dir);
    expect(help.stderr).toBe("");
    expect(help.stdout).toMatch(/^Usage: divan /);
    expect(help.stdout).toContain("compare");
    expect(help.code).toBe(0);
    for (const entry of ["divan", "divan/client"]) {
      const imported = await importFromInstall(entry);
      expect(imported.stderr, entry).toBe("");
      expect(Number(imported.stdout.trim()), entry).toBeGreaterThan(0);
    }
  });

  it("divan init writes an app; divan check asks for tsx, then passes with it; divan/server imports with express", async () => {
    const app = path.join(dir, "app");
    await mkdir(app);
    const init = await divan(["init"], app);
    expect(init.stderr).toBe("");
    expect(init.code).toBe(0);
    expect(existsSync(path.join(app, "divan.config.ts"))).toBe(true);
    expect(existsSync(path.join(app, "steps", "index.ts"))).toBe(true);

    const withoutTsx = await divan(["check"], app);
    expect(withoutTsx.stderr).toContain("needs the package tsx, which is not installed: npm install tsx");
    expect(withoutTsx.code).toBe(2);

    // the peers a user adds for a TypeScript config and for the embedded server
    const peers = await run("npm", [...NPM_INSTALL, "tsx", "express"], dir);
    expect(peers.code, peers.stderr).toBe(0);
    const check = await divan(["check"], app);
    expect(check.stderr).toBe("");
    expect(check.stdout).toContain("check passed");
    expect(check.code).toBe(0);
    const server = await importFromInstall("divan/server");
    expect(server.stderr).toBe("");
    expect(Number(server.stdout.trim())).toBeGreaterThan(0);
  }, 120_000);
});
