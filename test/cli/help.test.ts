/**
 * `divan --help` lists every registered command, from the TypeScript sources and through the package's
 * `bin` (`dist/`, built by `npm install`) with `npx divan --help`.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { commands } from "../../server/commands/index.js";
import { bundleCli, PASSWORD, ROOT, divan, run } from "./support.js";

/** The program as `server/cli.ts` builds it. */
function program(): Command {
  const p = new Command().name("divan");
  for (const register of commands) register(p);
  return p;
}

/** The command names of a `--help` text's "Commands:" section. */
function listed(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? "";
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!);
}

const registered = program().commands.map((c) => c.name());
const bin = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> }).bin["divan"];
const built = bin !== undefined && existsSync(path.join(ROOT, bin));

describe("divan --help", () => {
  it("registers the migration commands with the options their docs promise", () => {
    expect(registered).toEqual(expect.arrayContaining(["serve", "migrate", "rollback", "status"]));
    const options = (name: string): string[] => program().commands.find((c) => c.name() === name)!.options.map((o) => o.long ?? "");
    expect(options("migrate")).toEqual(
      expect.arrayContaining(["--db", "--to", "--target", "--dry-run", "--verify", "--concurrency", "--batch-size", "--restart", "--no-validate", "--state-db", "--lease-owner", "--schemas", "--manifests", "--steps"]),
    );
    expect(options("rollback")).toEqual(expect.arrayContaining(["--db", "--to", "--target", "--restart", "--state-db"]));
    expect(options("status")).toEqual(expect.arrayContaining(["--db", "--to", "--id", "--state-db", "--steps"]));
    expect(options("serve")).toEqual(expect.arrayContaining(["--transform", "--status-port"]));
  });

  it("lists every registered command (tsx server/cli.ts), and every command's help says what its exit codes mean", async () => {
    const r = await divan(["--help"], { cwd: ROOT });
    expect(r.code).toBe(0);
    expect(listed(r.stdout)).toEqual([...registered, "help"]);
    for (const help of [r.stdout, (await divan(["migrate", "--help"], { cwd: ROOT })).stdout]) {
      expect(help).toMatch(/^Exit codes:\n {2}0 {2}everything migrated and valid.*\n {2}1 {2}a document is quarantined.*\n {2}2 {2}the command could not run/m);
    }
  });

  it("a usage error (a missing required option, an unknown option or command, no command) exits 2 with CONFIG_INVALID, as README promises", async () => {
    const url = `http://someone:${PASSWORD}@127.0.0.1:1/db`;
    const cases: [string[], RegExp][] = [
      [["migrate", "--db", url], /^divan: required option '--to <version>' not specified \[CONFIG_INVALID\]$/m],
      [["migrate", "--db", url, "--to", "3.0.0", "--bogus"], /^divan: unknown option '--bogus' \[CONFIG_INVALID\]$/m],
      [[url], /^divan: unknown command 'http:\/\/someone:\*\*\*@127\.0\.0\.1:1\/db' \[CONFIG_INVALID\]$/m],
      [[], /^Usage: divan /m],
    ];
    const cli = await bundleCli(); // plain Node: five starts of tsx would not fit the test's budget on a busy machine
    try {
      for (const [args, message] of cases) {
        const r = await cli.run(args, { cwd: ROOT }); // rejects when the password is printed
        expect(r.code, `case ${String(message)}`).toBe(2);
        expect(r.stderr).toMatch(message);
      }
      expect((await cli.run(["migrate", "--help"], { cwd: ROOT })).code).toBe(0);
    } finally {
      await cli.remove();
    }
  });

  // `npm install` builds dist/ (the `prepare` script), so the package's bin is there for every test run;
  // the sources may be newer than the build, so this checks that the bin runs, not the exact list.
  it("npx divan --help runs the built bin (built by npm install)", async () => {
    expect(built, "dist/ is missing: run npm install (or npm run build)").toBe(true);
    const r = await run("npx", ["--no-install", "divan", "--help"], { cwd: ROOT });
    expect(r.code, r.stderr).toBe(0);
    expect(listed(r.stdout)).toEqual(expect.arrayContaining(["serve", "compare", "migrate", "help"]));
  });
});
