import { describe, expect, it } from "vitest";
import { CLI_USER, PASSWORD, passwordShown, withCredentials } from "./support.js";

describe("the CLI tests' password check", () => {
  it("catches the CLI user's password anywhere and any URL with its password in clear, and nothing else", () => {
    const url = withCredentials("http://127.0.0.1:5984", "db");
    expect(url).toBe(`http://${CLI_USER}:${PASSWORD}@127.0.0.1:5984/db`);
    expect(PASSWORD).not.toContain(CLI_USER);
    expect(passwordShown(`migrating ${url}`)).toBeDefined();
    expect(passwordShown(`reason: ${PASSWORD}`)).toBeDefined();
    expect(passwordShown("divan: http://admin:admin@127.0.0.1:5984/db failed")).toBeDefined();
    expect(passwordShown("https://u:p%40ss@couch.example/db")).toBeDefined();
    // What the CLI prints: redacted URLs, user names (even one equal to a password), plain words.
    expect(passwordShown(`divan: http://${CLI_USER}:***@127.0.0.1:5984/db [NOT_FOUND]`)).toBeUndefined();
    expect(passwordShown("http://admin:***@127.0.0.1:5984/db, admin, mailto:admin@example.com")).toBeUndefined();
  });
});
