/**
 * `divan serve` (the embedded server in its own process): stays embedded even when `COUCHDB_URL` is set,
 * because starting and stopping that server is what it tests.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("divan serve", () => {
  it("prints the URL, serves CouchDB requests and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "server/cli.ts", "serve", "--port", "0"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          const match = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout);
          if (match) resolve(match[0]);
        });
        child.on("exit", (code) => reject(new Error(`divan serve exited with ${String(code)} before printing a URL: ${stderr}`)));
      });
      const welcome = (await (await fetch(`${url}/`)).json()) as { couchdb?: string };
      expect(welcome.couchdb).toBe("Welcome");
      expect((await fetch(`${url}/served`, { method: "PUT" })).status).toBe(201);
      // an open feed must not keep the process alive after the signal
      const feed = await fetch(`${url}/served/_changes?feed=continuous&heartbeat=1000`);
      const feedEnded = feed.text().then(
        () => true,
        () => true,
      );
      child.kill("SIGTERM");
      // An open feed that kept the process alive shows as "still running" after 10 s, not as a test timeout.
      let timer: NodeJS.Timeout | undefined;
      const stillRunning = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("still running"), 10_000)));
      expect(await Promise.race([exited, stillRunning])).toBe(0);
      clearTimeout(timer);
      expect(await feedEnded).toBe(true);
      expect(stdout).toContain("stopped");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("refuses an invalid --port", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "server/cli.ts", "serve", "--port", "http"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(stderr).toContain("--port");
  });
});
