/**
 * `divan serve [--port N] [--data DIR] [--transform CONFIG [--status-port N] [--lease-owner NAME]] [--config FILE]`: runs the embedded
 * CouchDB-compatible server until SIGINT/SIGTERM, then closes it cleanly and exits 0. With
 * `--transform`, also runs the replication transformers of the config (`server/transformer/config.ts`)
 * against it — or, when `COUCHDB_URL` is set, the transformers alone against that server — and serves
 * `GET /_divan/status` on 127.0.0.1 (`--status-port`, default a free port; the URL is printed).
 */
import type { Command } from "commander";
import { DivanError } from "../../core/errors.js";
import { startEmbeddedServer, type EmbeddedServer } from "../embedded.js";
import { loadTransformConfig } from "../transformer/config.js";
import { startTransformerService, type TransformerService } from "../transformer/service.js";
import { redact } from "../../core/redact.js";
import { commandConfig, configOption } from "../config.js";

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d{1,5}$/.test(value) || n > 65535) {
    throw new DivanError("CONFIG_INVALID", `--port must be an integer between 0 and 65535, got "${value}".`);
  }
  return n;
}

/** Registers `divan serve`. */
export function register(program: Command): void {
  const cmd = program
    .command("serve")
    .description("Run the embedded CouchDB-compatible server (in memory, or LevelDB files with --data) until Ctrl-C.")
    .option("-p, --port <port>", "TCP port on 127.0.0.1 (0 picks a free port)", parsePort, 5984)
    .option("-d, --data <dir>", "keep databases as LevelDB files in this directory")
    .option("--verbose", "log every request to stderr")
    .option("--transform <config>", "also run the replication transformers of this JSON config (alone against COUCHDB_URL when it is set; default: transform of the divan config)")
    .option("--status-port <port>", "port of the transformers' GET /_divan/status listener (0 picks a free port)", parsePort, 0)
    .option("--lease-owner <name>", "who holds the transformers' lease (default: one name per process); a process killed while holding it is taken over at once by one with the same owner");
  configOption(cmd).action(async (flags: { port: number; data?: string; verbose?: boolean; transform?: string; statusPort: number; leaseOwner?: string }, command: Command) => {
      const config = await commandConfig(command);
      const opts = { ...flags, ...(config.transform === undefined ? {} : { transform: config.transform }) };
      const couchUrl = opts.transform === undefined ? undefined : process.env["COUCHDB_URL"];
      // Listening before anything is announced: a supervisor may send SIGTERM as soon as it reads a line.
      const stopped = new Promise<void>((resolve) => {
        const stop = (): void => {
          process.removeListener("SIGINT", stop);
          process.removeListener("SIGTERM", stop);
          resolve();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      let server: EmbeddedServer | undefined;
      if (couchUrl === undefined || couchUrl === "") {
        server = await startEmbeddedServer({
          port: opts.port,
          ...(opts.data === undefined ? {} : { dataDir: opts.data }),
          ...(opts.verbose === true ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
        });
        process.stdout.write(`divan embedded server listening on ${server.url}${opts.data === undefined ? " (in memory)" : ` (data in ${opts.data})`}\n`);
      }
      let transformers: TransformerService | undefined;
      if (opts.transform !== undefined) {
        try {
          transformers = await startTransformerService({
            config: await loadTransformConfig(opts.transform),
            serverUrl: server?.url ?? couchUrl ?? "",
            statusPort: opts.statusPort,
            ...(opts.leaseOwner === undefined ? {} : { lease: { owner: opts.leaseOwner } }),
            log: (line) => process.stderr.write(`${redact(line)}\n`),
          });
        } catch (e) {
          await server?.close();
          throw e;
        }
        const lease = (await transformers.status()).lease;
        const waiting = lease !== null && !lease.held ? ` (waiting for the lease held by ${lease.owner ?? "another process"})` : "";
        process.stdout.write(`divan transformers running for ${transformers.transformer.sides.map((s) => s.name).join(", ")}${waiting}; status at ${transformers.statusUrl ?? "(none)"}\n`);
      }
      await stopped;
      if (transformers !== undefined) {
        await transformers.close();
        process.stdout.write("divan transformers stopped\n");
      }
      if (server !== undefined) {
        await server.close();
        process.stdout.write("divan embedded server stopped\n");
      }
      process.exitCode = 0;
    });
}
