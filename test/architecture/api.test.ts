/**
 * The root entry stays a curated API: at most 60 names, each listed by name (no `export *`), each with TSDoc.
 */
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const ENTRY = path.join(ROOT, "index.ts");

describe("the root entry `divan`", () => {
  const program = ts.createProgram([ENTRY], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(ENTRY)!;
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!);

  it("exports at most 60 names, each by name", () => {
    const star = source.statements.filter((s) => ts.isExportDeclaration(s) && s.exportClause === undefined);
    expect(star.map((s) => s.getText(source))).toEqual([]);
    expect(exported.length).toBeGreaterThan(0);
    expect(exported.length).toBeLessThanOrEqual(60);
  });

  it("documents every export with TSDoc", () => {
    const undocumented = exported
      .map((s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s))
      .filter((s) => s.getDocumentationComment(checker).length === 0)
      .map((s) => s.name);
    expect(undocumented).toEqual([]);
  });
});
