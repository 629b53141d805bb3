import { describe, expect, it } from "vitest";
import { chromiumStep } from "../support/require-chromium.js";

describe("npm test without Chromium", () => {
  it("runs when Chromium is installed, installs Debian's package as root, and otherwise says the one command to run", () => {
    expect(chromiumStep({ installed: true, root: false, aptGet: true })).toEqual({ kind: "ready" });
    expect(chromiumStep({ installed: false, root: true, aptGet: true })).toEqual({ kind: "install" });
    const missing = chromiumStep({ installed: false, root: false, aptGet: true });
    expect(missing.kind).toBe("missing");
    expect(missing.kind === "missing" && missing.message).toContain("\n  sudo apt-get install -y --no-install-recommends chromium\n");
    expect(missing.kind === "missing" && missing.message).toContain("/usr/bin/chromium");
  });
});
