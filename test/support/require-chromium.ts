/**
 * `npm test`'s first step (`pretest`): the browser tests drive Debian's Chromium at {@link CHROMIUM_PATH}
 * (no browser is ever downloaded). When it is missing, root (as in CI) installs Debian's package with
 * apt-get; anyone else is told the one command to run, and `npm test` stops before running anything.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { CHROMIUM_PATH } from "./browser.js";

/** The apt-get arguments that install Debian's Chromium. */
export const APT_INSTALL = ["install", "-y", "--no-install-recommends", "chromium"] as const;

/** What `npm test` does about Chromium on a machine. */
export type ChromiumStep = { kind: "ready" } | { kind: "install" } | { kind: "missing"; message: string };

/** The step for a machine where Chromium is (or is not) installed, as root or not, with or without apt-get. */
export function chromiumStep(machine: { installed: boolean; root: boolean; aptGet: boolean }): ChromiumStep {
  if (machine.installed) return { kind: "ready" };
  if (machine.root && machine.aptGet) return { kind: "install" };
  const command = `${machine.root ? "" : "sudo "}apt-get ${APT_INSTALL.join(" ")}`;
  return {
    kind: "missing",
    message: `npm test needs Chromium at ${CHROMIUM_PATH} for the browser tests (Debian's package \`chromium\`). Install it with:\n\n  ${command}\n`,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const step = chromiumStep({ installed: existsSync(CHROMIUM_PATH), root: process.getuid?.() === 0, aptGet: existsSync("/usr/bin/apt-get") });
  if (step.kind === "install") {
    console.log(`Chromium is missing at ${CHROMIUM_PATH}: installing Debian's package with apt-get.`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    execFileSync("apt-get", ["update"], { stdio: "inherit", env });
    execFileSync("apt-get", [...APT_INSTALL], { stdio: "inherit", env });
  } else if (step.kind === "missing") {
    console.error(step.message);
    process.exit(1);
  }
}
