/**
 * Size limits, measured on the TypeScript syntax tree: no function over 120 lines (a pure data table or an exhaustive
 * `switch` over a union excepted) and no source file over 600 lines.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SOURCES = ["index.ts", "core", "schemas", "adapters", "store", "strategies", "server", "client", "examples"];
const MAX_FUNCTION_LINES = 120;
const MAX_FILE_LINES = 600;

function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    if (rel.endsWith(".ts")) {
      if (!rel.endsWith(".d.ts")) out.push(rel);
      return;
    }
    for (const e of readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      if (e.isDirectory() || e.name.endsWith(".ts")) walk(path.posix.join(rel, e.name));
    }
  };
  for (const s of SOURCES) walk(s);
  return out.sort();
}

/** An exhaustive `switch` over a union: its `default` ends in `assertNever`. */
function isExhaustiveSwitch(node: ts.Node, source: ts.SourceFile): boolean {
  if (!ts.isSwitchStatement(node)) return false;
  const fallback = node.caseBlock.clauses.find(ts.isDefaultClause);
  return fallback !== undefined && /\bassertNever\(/.test(fallback.getText(source));
}

/**
 * The lines of a function that count: all of them, less its top-level exhaustive `switch`es; none when it only returns
 * a literal (a data table).
 */
function countedLines(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): number {
  const lineOf = (pos: number): number => source.getLineAndCharacterOfPosition(pos).line;
  const span = (n: ts.Node): number => lineOf(n.getEnd()) - lineOf(n.getStart(source)) + 1;
  const body = node.body;
  if (body === undefined) return 0;
  const table = (e: ts.Expression | undefined): boolean => e !== undefined && (ts.isObjectLiteralExpression(e) || ts.isArrayLiteralExpression(e));
  if (!ts.isBlock(body)) return table(body) ? 0 : span(node);
  if (body.statements.length === 1 && ts.isReturnStatement(body.statements[0]!) && table(body.statements[0].expression)) return 0;
  return body.statements.filter((st) => isExhaustiveSwitch(st, source)).reduce((n, st) => n - span(st), span(node));
}

interface Long {
  readonly where: string;
  readonly lines: number;
}

function longFunctions(rel: string): Long[] {
  const source = ts.createSourceFile(rel, readFileSync(path.join(ROOT, rel), "utf8"), ts.ScriptTarget.ES2022, true);
  const out: Long[] = [];
  const lineOf = (pos: number): number => source.getLineAndCharacterOfPosition(pos).line;
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const lines = countedLines(node as ts.FunctionLikeDeclaration, source);
      if (lines > MAX_FUNCTION_LINES) {
        const name = node.name !== undefined && ts.isIdentifier(node.name) ? node.name.text : `(function at line ${lineOf(node.getStart(source)) + 1})`;
        out.push({ where: `${rel}: ${name}`, lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

describe("size limits", () => {
  const files = sourceFiles();

  it(`no function is longer than ${MAX_FUNCTION_LINES} lines`, () => {
    const long = files.flatMap(longFunctions);
    expect(long.map((l) => `${l.where} (${l.lines} lines)`)).toEqual([]);
  });

  it(`no source file is longer than ${MAX_FILE_LINES} lines`, () => {
    const long = files
      .map((f) => ({ f, lines: readFileSync(path.join(ROOT, f), "utf8").split("\n").length }))
      .filter((x) => x.lines > MAX_FILE_LINES);
    expect(long.map((x) => `${x.f} (${x.lines} lines)`)).toEqual([]);
  });
});
