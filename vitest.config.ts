import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// CI asks for a JSON report too (see .ci/run), so it can count passed and failed tests.
const jsonReport = process.env.DIVAN_VITEST_JSON;

/**
 * Test files that start child processes (the CLI, Chromium, depcruise) or replicate over HTTP (the embedded server,
 * or CouchDB at `COUCHDB_URL`), and the transformer's 1000-edit loop. On a loaded 2-core machine their tests and
 * hooks can pass 30 s without anything being wrong, so they get 120 s; the budget is a safety net, not a timing
 * assertion (a test that needs a bound on its duration says so itself). Every other file keeps 30 s.
 */
const heavy = [
  "test/cli/**/*.test.ts",
  "test/corpus/**/*.test.ts",
  "test/couchdb/**/*.test.ts",
  "test/architecture/layers.test.ts",
  "test/browser/client.test.ts",
  "test/browser/report.test.ts",
  "test/channels/channels.test.ts",
  "test/client/device-transformer.test.ts",
  "test/lazy/proxy.test.ts",
  "test/runner/follow.test.ts",
  "test/runner/lease.test.ts",
  "test/schemas/check-steps.test.ts",
  "test/schemas/cli.test.ts",
  "test/schemas/design-doc.test.ts",
  "test/server/embedded.test.ts",
  "test/server/parity.test.ts",
  "test/server/serve.test.ts",
  "test/simulation/agreement.test.ts",
  "test/simulation/seeds-http.test.ts",
  "test/store/contract.test.ts",
  "test/store/http.test.ts",
  "test/store/open.test.ts",
  "test/store/rows.test.ts",
  "test/strategies/client-transformer.test.ts",
  "test/strategies/deletes.test.ts",
  "test/strategies/per-version-documents.test.ts",
  "test/strategies/transactional.test.ts",
  "test/transformer/loop.test.ts",
  "test/transformer/service.test.ts",
  "test/transformer/write-failures.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Test files start their own servers on free ports and run in parallel forks.
    pool: "forks",
    // Most test files wait on replication and HTTP, not on the CPU: on 2 cores, 3 forks run the suite in
    // about two thirds of the time vitest's default (cores - 1) takes, and no test budget is tighter for it.
    maxWorkers: Math.max(3, availableParallelism()),
    reporters: jsonReport ? ["default", ["json", { outputFile: jsonReport }]] : ["default"],
    // Two projects that differ only in their budgets; both run in the same pool, so the suite runs as before. (The
    // files are chosen per project, not at the root: a project extending the root would add its list to the root's.)
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: heavy } },
      { extends: true, test: { name: "heavy", include: heavy, testTimeout: 120_000, hookTimeout: 120_000 } },
    ],
  },
});
