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
    reporters: jsonReport ? ["default", ["json", { outputFile: jsonReport }]] : ["default"],
  },
});
