/**
 * `npm run check:layers` (also run by the test suite, test/layers.test.ts): fails when src/ has an import loop —
 * between folders (the first path segment under src/; a file at the top of src/ is a folder of its own), or between
 * files — or when src/server imports from src/cli. Type-only imports count: a loop of types is still a loop of layers.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LayerReport {
  /** folder → folders it imports, each with one example import. */
  folderEdges: Map<string, Map<string, string>>;
  /** Folder loops: each a strongly connected set of folders, with the edges inside it. */
  folderLoops: string[];
  /** File loops (files that import each other, directly or through other files). */
  fileLoops: string[];
  /** Imports that cross a forbidden boundary. */
  forbidden: string[];
}

/** Forbidden folder edges: [from, to, why]. */
const FORBIDDEN: readonly [string, string, string][] = [['server', 'cli', 'the HTTP server must not depend on the command line']];

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function folderOf(srcRoot: string, file: string): string {
  const rel = relative(srcRoot, file).split(sep);
  return rel.length > 1 ? rel[0]! : rel[0]!.replace(/\.(js|tsx?)$/, '');
}

/** The relative imports of every .ts file under srcRoot, as file → imported files (both relative to srcRoot). */
export function importGraph(srcRoot: string): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of walk(srcRoot)) {
    const targets = new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (target.startsWith(srcRoot + sep)) targets.add(relative(srcRoot, target).replace(/\.js$/, '.ts'));
    }
    graph.set(relative(srcRoot, file), targets);
  }
  return graph;
}

export function checkLayers(srcRoot: string): LayerReport {
  const files = importGraph(srcRoot);
  const folderEdges = new Map<string, Map<string, string>>();
  const forbidden: string[] = [];
  for (const [file, targets] of files) {
    const from = folderOf(srcRoot, join(srcRoot, file));
    for (const t of targets) {
      const to = folderOf(srcRoot, join(srcRoot, t));
      if (to === from) continue;
      const row = folderEdges.get(from) ?? new Map<string, string>();
      folderEdges.set(from, row);
      if (!row.has(to)) row.set(to, `${file} → ${t}`);
      for (const [f, tt, why] of FORBIDDEN) if (from === f && to === tt) forbidden.push(`${file} imports ${t}: ${why}`);
    }
  }
  const folderGraph = new Map([...folderEdges].map(([k, row]) => [k, new Set(row.keys())]));
  const folderLoops = stronglyConnected(folderGraph).map((loop) => {
    const inside = new Set(loop);
    const lines = loop.flatMap((a) => [...(folderEdges.get(a) ?? [])].filter(([b]) => inside.has(b)).map(([b, ex]) => `  ${a} → ${b}   (${ex})`));
    return `import loop between folders ${loop.join(', ')}:\n${lines.join('\n')}`;
  });
  const fileLoops = stronglyConnected(files).map((loop) => `import loop between files ${loop.join(', ')}`);
  return { folderEdges, folderLoops, fileLoops, forbidden };
}

/** Tarjan's strongly connected components of more than one node: every one is an import loop. */
function stronglyConnected(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) out.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const src = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const r = checkLayers(src);
  const problems = [...r.folderLoops, ...r.fileLoops, ...r.forbidden];
  for (const p of problems) console.error(p);
  if (problems.length) process.exit(1);
  console.log(`check:layers: ${r.folderEdges.size} folders; no import loops between folders or files; server does not import cli`);
}
