/**
 * `divan serve [--port N] [--data DIR]`: runs the embedded CouchDB-compatible server until
 * SIGINT/SIGTERM, then closes it cleanly and exits 0.
 */
import type { Command } from "commander";
import { DivanError } from "../../core/errors.js";
import { startEmbeddedServer } from "../embedded.js";

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d{1,5}$/.test(value) || n > 65535) {
    throw new DivanError("CONFIG_INVALID", `--port must be an integer between 0 and 65535, got "${value}".`);
  }
  return n;
}

/** Registers `divan serve`. */
export function register(program: Command): void {
  program
    .command("serve")
    .description("Run the embedded CouchDB-compatible server (in memory, or LevelDB files with --data) until Ctrl-C.")
    .option("-p, --port <port>", "TCP port on 127.0.0.1 (0 picks a free port)", parsePort, 5984)
    .option("-d, --data <dir>", "keep databases as LevelDB files in this directory")
    .option("--verbose", "log every request to stderr")
    .action(async (opts: { port: number; data?: string; verbose?: boolean }) => {
      const server = await startEmbeddedServer({
        port: opts.port,
        ...(opts.data === undefined ? {} : { dataDir: opts.data }),
        ...(opts.verbose === true ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
      });
      process.stdout.write(`divan embedded server listening on ${server.url}${opts.data === undefined ? " (in memory)" : ` (data in ${opts.data})`}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.removeListener("SIGINT", stop);
          process.removeListener("SIGTERM", stop);
          resolve();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await server.close();
      process.stdout.write("divan embedded server stopped\n");
      process.exitCode = 0;
    });
}
