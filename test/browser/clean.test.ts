/**
 * The browser entry must not reach Node-only code. Bundling it the way the web app is bundled (Vite, browser
 * conditions) and recording every import that resolves to a Node built-in or a native package catches it wherever it
 * hides in the import graph, including inside dependencies.
 */
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { build, type Plugin } from 'vite';
import { describe, expect, it } from 'vitest';

const NODE_ONLY_PACKAGES = ['onnxruntime-node', 'sharp', 'better-sqlite3', 'fastify'];

function isNodeOnly(source: string): boolean {
  if (source.startsWith('node:')) return true;
  const pkg = source.startsWith('@') ? source.split('/').slice(0, 2).join('/') : source.split('/')[0]!;
  return builtinModules.includes(pkg) || NODE_ONLY_PACKAGES.includes(pkg);
}

/** Bundles `entry` for the browser (without writing anything) and lists `importer → source` of Node-only imports. */
async function nodeOnlyImports(entry: string): Promise<string[]> {
  const found: string[] = [];
  const recorder: Plugin = {
    name: 'record-node-only-imports',
    enforce: 'pre',
    resolveId(source, importer) {
      if (isNodeOnly(source)) {
        found.push(`${importer ? importer.replace(`${process.cwd()}/`, '') : '<entry>'} → ${source}`);
        return { id: source, external: true };
      }
      return null;
    },
  };
  await build({
    configFile: false,
    logLevel: 'silent',
    root: process.cwd(),
    plugins: [recorder],
    build: {
      write: false,
      minify: false,
      lib: { entry: resolve(entry), formats: ['es'], fileName: 'entry' },
      // onnxruntime-web is a browser package; bundling its 400 kB adds time and nothing to check.
      rollupOptions: { external: ['onnxruntime-web'] },
    },
  });
  return found;
}

describe('browser entry', () => {
  it('reaches no node: modules, onnxruntime-node or other Node-only packages', async () => {
    expect(await nodeOnlyImports('src/browser/index.ts')).toEqual([]);
  }, 120_000);

  it('the check does find Node-only imports where they exist (the Node entry)', async () => {
    const found = await nodeOnlyImports('src/index.ts');
    expect(found.some((f) => f.endsWith('→ onnxruntime-node'))).toBe(true);
    expect(found.some((f) => f.startsWith('src/onnx/file.ts') && f.endsWith('→ node:fs/promises'))).toBe(true);
    expect(found.some((f) => f.startsWith('src/composites/file.ts') && f.endsWith('→ node:fs'))).toBe(true);
  }, 120_000);
});
