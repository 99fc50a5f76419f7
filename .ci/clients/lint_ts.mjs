// Refuses what would silence `tsc --strict` instead of satisfying it, read from the syntax
// tree (TypeScript's own parser, so strings and comments never count): `x as T`,
// `<T>x`, `x!`, the type `any`, and @ts-ignore / @ts-expect-error / @ts-nocheck comments.
// Usage: node lint_ts.mjs file.ts...  Exits 1 and lists each place otherwise.
import { readFileSync } from "node:fs";
import ts from "typescript";

const found = [];
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const report = (node, what) => {
    const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
    found.push(`${file}:${line + 1}:${character + 1}: ${what}: ${node.getText(source).slice(0, 60)}`);
  };
  const visit = (node) => {
    if (ts.isAsExpression(node)) report(node, "cast (as)");
    else if (ts.isTypeAssertionExpression(node)) report(node, "cast (<T>)");
    else if (ts.isNonNullExpression(node)) report(node, "non-null assertion (!)");
    else if (node.kind === ts.SyntaxKind.AnyKeyword) report(node, "any");
    ts.forEachChild(node, visit);
  };
  visit(source);
  for (const match of text.matchAll(/@ts-(ignore|expect-error|nocheck)/g)) {
    const { line } = source.getLineAndCharacterOfPosition(match.index);
    found.push(`${file}:${line + 1}: @ts-${match[1]}`);
  }
}
if (found.length > 0) {
  console.error(`casts are not allowed in the journeys (the schema must make them needless):\n${found.join("\n")}`);
  process.exit(1);
}
