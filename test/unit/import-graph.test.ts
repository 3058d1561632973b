/**
 * The shape rules of issue 11, kept true from now on: no import cycle in lib/ or backends/; the
 * layers import only downwards (backends/ nothing from lib/; the protocol layers only the backend
 * contract and neutral utilities; lib/dav nothing of its users). Every edge counts, type-only
 * imports and `declare module` augmentations included: a dependency a compiler erases is still one a
 * reader has to hold in their head. Reads the TypeScript sources (not dist/), so it sees what a
 * reader sees.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
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

/** The source files a source names (relative specifiers only; `./x.js` is `./x.ts`). */
function localImports(file: string): string[] {
  const deps = localSpecifiers(readFileSync(file, 'utf8')).map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
  for (const d of deps) assert.ok(existsSync(d), `${relative(ROOT, file)} imports ${relative(ROOT, d)}, which does not exist`);
  return [...new Set(deps)];
}

/** Each source file → the source files it names. */
function importGraph(files: string[]): Map<string, string[]> {
  return new Map(files.map((file) => [file, localImports(file)]));
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

/** A file's path from the repository root, with `/`: the form the rules below are written in. */
const rel = (file: string): string => relative(ROOT, file).split(sep).join('/');

/** A layering rule: no file it applies to (`from`) may import a file it `forbids`. Paths as `rel` gives them. */
interface LayerRule {
  says: string;
  from: (file: string) => boolean;
  forbids: (target: string) => boolean;
}

const under =
  (...prefixes: string[]) =>
  (path: string): boolean =>
    prefixes.some((p) => path.startsWith(p));

/** All of backends/ a protocol layer may import: the contract and the neutral utilities. */
const CONTRACT = ['backends/backend.ts', 'backends/errors.ts', 'backends/capabilities.ts'];
const beyondContract = (target: string): boolean =>
  target.startsWith('backends/') && !CONTRACT.includes(target) && !target.startsWith('backends/util/');
const CONTRACT_ONLY = 'from backends/ only backend.ts, errors.ts, capabilities.ts and util/*';

const LAYER_RULES: LayerRule[] = [
  { says: 'backends/ imports nothing from lib/', from: under('backends/'), forbids: under('lib/') },
  { says: `lib/dav/ imports ${CONTRACT_ONLY}`, from: under('lib/dav/'), forbids: beyondContract },
  { says: `lib/caldav/ imports ${CONTRACT_ONLY}`, from: under('lib/caldav/'), forbids: beyondContract },
  {
    says: 'lib/dav/ imports nothing of its users (lib/caldav/, lib/auth/, lib/tenants*, lib/server.ts)',
    from: under('lib/dav/'),
    forbids: (t) => under('lib/caldav/', 'lib/auth/', 'lib/tenants')(t) || t === 'lib/server.ts',
  },
];

/** Every import that breaks the rule, as "FILE imports TARGET". */
function breaches(rule: LayerRule, graph: Map<string, string[]>): string[] {
  return [...graph]
    .filter(([file]) => rule.from(rel(file)))
    .flatMap(([file, deps]) => deps.map(rel).filter(rule.forbids).map((t) => `${rel(file)} imports ${t}`))
    .sort();
}

describe('import graph of lib/ and backends/', () => {
  const files = TREES.flatMap((t) => sources(join(ROOT, t)));

  it('finds the sources', () => {
    assert.ok(files.length > 100, `only ${files.length} .ts files under ${TREES.join(', ')} in ${ROOT}`);
  });

  let graph: Map<string, string[]> | undefined; // built on first use, so a missing import fails a test, not the load

  it('has no import cycle (type-only imports and module augmentations count)', () => {
    const shown = cycles((graph ??= importGraph(files))).map((c) => c.map((f) => relative(ROOT, f)).join(' → '));
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

  for (const rule of LAYER_RULES) {
    it(rule.says, () => {
      const found = breaches(rule, (graph ??= importGraph(files)));
      assert.deepEqual(found, [], `${rule.says}; these imports break it:\n  ${found.join('\n  ')}\n`);
    });
  }

  it('names each import that breaks a layering rule', () => {
    const g = new Map([
      [join(ROOT, 'backends/git/x.ts'), [join(ROOT, 'lib/dav/paths.ts'), join(ROOT, 'backends/backend.ts')]],
      [join(ROOT, 'lib/dav/y.ts'), [join(ROOT, 'backends/util/lru.ts'), join(ROOT, 'backends/capabilities.ts'), join(ROOT, 'backends/mount/table.ts')]],
      [join(ROOT, 'lib/dav/z.ts'), [join(ROOT, 'lib/tenants/share-mounts.ts'), join(ROOT, 'lib/tenants.ts'), join(ROOT, 'lib/server.ts'), join(ROOT, 'lib/config.ts')]],
    ]);
    assert.deepEqual(
      LAYER_RULES.map((r) => breaches(r, g)),
      [
        ['backends/git/x.ts imports lib/dav/paths.ts'],
        ['lib/dav/y.ts imports backends/mount/table.ts'],
        [],
        ['lib/dav/z.ts imports lib/server.ts', 'lib/dav/z.ts imports lib/tenants.ts', 'lib/dav/z.ts imports lib/tenants/share-mounts.ts'],
      ],
    );
  });
});
