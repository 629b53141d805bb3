import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// CI asks for a JSON report too (see .ci/run), so it can count passed and failed tests.
const jsonReport = process.env.DIVAN_VITEST_JSON;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Test files start their own servers on free ports and run in parallel forks.
    pool: "forks",
    // Most test files wait on replication and HTTP, not on the CPU: on 2 cores, 3 forks run the suite in
    // about two thirds of the time vitest's default (cores - 1) takes, and no test budget is tighter for it.
    maxWorkers: Math.max(3, availableParallelism()),
    reporters: jsonReport ? ["default", ["json", { outputFile: jsonReport }]] : ["default"],
  },
});
