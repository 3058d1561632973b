/**
 * No import cycle in lib/ or backends/ (issue 11). Every edge counts, type-only imports and
 * `declare module` augmentations included: a cycle a compiler erases is still one a reader has to
 * hold in their head. Reads the TypeScript sources (not dist/), so it sees what a reader sees.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository root, from dist/test/unit/. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TREES = ['lib', 'backends'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sources(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The relative modules a source names: imports (type-only too), re-exports, import() and `declare module`. */
function localSpecifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((i) => i.fileName).filter((s) => s.startsWith('.'));
}

/** Each source file → the source files it names (relative specifiers only; `./x.js` is `./x.ts`). */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps = localSpecifiers(readFileSync(file, 'utf8')).map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
    for (const d of deps) assert.ok(existsSync(d), `${relative(ROOT, file)} imports ${relative(ROOT, d)}, which does not exist`);
    graph.set(file, [...new Set(deps)]);
  }
  return graph;
}

/** One path around each cycle found by a depth-first walk (empty when there is none). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (!graph.has(d)) continue; // outside lib/ and backends/ (a test helper, say)
      if (state.get(d) === 'open') found.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f);
  return found;
}

describe('import graph of lib/ and backends/', () => {
  const files = TREES.flatMap((t) => sources(join(ROOT, t)));

  it('finds the sources', () => {
    assert.ok(files.length > 100, `only ${files.length} .ts files under ${TREES.join(', ')} in ${ROOT}`);
  });

  it('has no import cycle (type-only imports and module augmentations count)', () => {
    const shown = cycles(importGraph(files)).map((c) => c.map((f) => relative(ROOT, f)).join(' → '));
    assert.deepEqual(shown, []);
  });

  it('counts type-only imports, re-exports, import() and module augmentations as edges', () => {
    const text = [
      "import type { A } from './a.js';",
      "export { B } from './b.js';",
      "const c = await import('./c.js');",
      "declare module './d.js' { interface D { e: A } }",
      "import { readFile } from 'node:fs';",
    ].join('\n');
    assert.deepEqual(localSpecifiers(text).sort(), ['./a.js', './b.js', './c.js', './d.js']);
    const [a, b] = [join(ROOT, 'a.ts'), join(ROOT, 'b.ts')];
    assert.equal(cycles(new Map([[a, [b]], [b, [a]]])).length, 1);
    assert.equal(cycles(new Map([[a, [b]], [b, []]])).length, 0);
  });
});
