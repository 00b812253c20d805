// The README's TypeScript example, type-checked exactly as written (with
// `./chat.js` pointing at the generated chat client), so that it cannot
// drift from the generated code or the runtime.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const here = dirname(fileURLToPath(import.meta.url));
/** The package's folder (this file runs from build/test/). */
const root = resolve(here, "../..");

test("the README's TypeScript example compiles against the generated chat client", () => {
  const readme = readFileSync(resolve(root, "../../README.md"), "utf8");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  assert.equal(blocks.length, 1, "one TypeScript example in the README");
  const chat = resolve(root, "fixtures/chat.js");
  const snippet = (blocks[0] ?? "").replace(`from "./chat.js"`, `from ${JSON.stringify(chat)}`);
  assert.notEqual(snippet, blocks[0], "the example imports ./chat.js");
  const dir = mkdtempSync(join(tmpdir(), "zocket-readme-"));
  try {
    const file = join(dir, "readme.mts");
    writeFileSync(file, `${snippet}\nexport {};\n`);
    const program = ts.createProgram([file], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
      strict: true,
      noEmit: true,
      types: [],
      // `@zocket/client` resolves to this package's sources.
      baseUrl: root,
      paths: { "@zocket/client": ["src/index.ts"] },
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    assert.deepEqual(problems, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
