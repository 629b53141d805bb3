/**
 * The import rule of divan's layers, checked by dependency-cruiser in `npm test` (test/architecture/layers.test.ts):
 * core ← schemas ← adapters ← store ← strategies ← server | client ← examples, and no cycles.
 */
const LAYERS = ["core", "schemas", "adapters", "store", "strategies"];

/** A layer may import itself and the layers below it, never one above. */
const upward = LAYERS.map((layer, i) => ({
  name: `${layer}-imports-upward`,
  comment: `${layer}/ may import only ${LAYERS.slice(0, i + 1).join(", ")}`,
  severity: "error",
  from: { path: `^${layer}/` },
  to: { path: `^(${[...LAYERS.slice(i + 1), "server", "client", "examples", "index\\.ts$"].join("|")})` },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: "server-imports-client-or-examples",
      comment: "server/ sits beside client/; only the CLI commands that run the todo example (compare, simulate) import it",
      severity: "error",
      from: { path: "^server/", pathNot: "^server/commands/(compare|simulate)\\.ts$" },
      to: { path: "^(client|examples)/|^index\\.ts$" },
    },
    {
      name: "client-imports-server-or-examples",
      comment: "client/ (the browser shell) sits beside server/ and below the examples",
      severity: "error",
      from: { path: "^client/" },
      to: { path: "^(server|examples)/|^index\\.ts$" },
    },
    {
      name: "root-entry-imports-server-or-client",
      comment: "the library entry exports the layers up to strategies; divan/server and divan/client are their own entries",
      severity: "error",
      from: { path: "^index\\.ts$" },
      to: { path: "^(server|client|examples)/" },
    },
    {
      name: "strategy-imports-another-strategy",
      comment: "a strategy folder imports only itself and the shared machinery (runner, transformer, live, strategies/*.ts)",
      severity: "error",
      from: { path: "^strategies/([^/]+)/" },
      to: { path: "^strategies/[^/]+/", pathNot: "^strategies/($1|runner|transformer|live)/" },
    },
    {
      name: "shared-machinery-imports-a-strategy",
      comment: "the machinery strategies compose does not know any one strategy",
      severity: "error",
      from: { path: "^strategies/(runner|transformer|live)/|^strategies/[^/]+\\.ts$" },
      to: { path: "^strategies/[^/]+/", pathNot: "^strategies/(runner|transformer|live)/" },
    },
    {
      name: "no-cycle",
      comment: "modules import each other one way",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"], conditionNames: ["import", "types", "node", "default"] },
  },
};
