import { builtinModules } from "node:module";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url).pathname;
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

describe("divan/client bundle", () => {
  it("bundles client/index.ts for the browser without any Node built-in, and prints its size", async () => {
    const result = await build({
      entryPoints: [`${root}client/index.ts`],
      bundle: true,
      platform: "browser",
      format: "esm",
      minify: true,
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    // every module the bundle pulled in, and every import it resolved, is a file of the package or of node_modules
    const inputs = Object.keys(result.metafile.inputs);
    const imported = Object.values(result.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
    const offenders = [...inputs, ...imported].filter((p) => builtins.has(p) || p.startsWith("node:") || /(^|\/)(schemas\/load|store\/pouchdb-node|server\/)/.test(p));
    expect(offenders).toEqual([]);
    expect(inputs).toContain("strategies/live/adapter.ts");
    expect(inputs).toContain("strategies/runner/runner.ts");
    const code = result.outputFiles[0]!.contents;
    const gz = gzipSync(code).length;
    console.log(`divan/client bundle: ${(code.length / 1024).toFixed(1)} KiB minified, ${(gz / 1024).toFixed(1)} KiB gzipped`);
    expect(gz).toBeLessThan(code.length);
  });
});
