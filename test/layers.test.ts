/**
 * The layering of src/: no import loops between folders or files, and the HTTP server does not import the CLI.
 * `npm run check:layers` runs the same check; this test makes it part of `npm test`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLayers } from '../scripts/check-layers.js';

const run = promisify(execFile);

describe('check:layers', () => {
  it('src/ has no import loops and server/ does not import cli/', () => {
    const r = checkLayers(join(process.cwd(), 'src'));
    expect([...r.folderLoops, ...r.fileLoops, ...r.forbidden]).toEqual([]);
    // The layering the README describes: lower folders never import the higher ones.
    const imports = (a: string, b: string): boolean => r.folderEdges.get(a)?.has(b) ?? false;
    expect(imports('compiler', 'rules') && imports('compiler', 'composites') && imports('composites', 'rules')).toBe(true);
    expect(imports('jobs', 'services') && imports('server', 'services') && imports('server', 'jobs')).toBe(true);
    expect(imports('rules', 'compiler') || imports('composites', 'compiler') || imports('jobs', 'server')).toBe(false);
  });

  const tmp = mkdtempSync(join(tmpdir(), 'xsys-layers-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const tree = (files: Record<string, string>): string => {
    const root = mkdtempSync(join(tmp, 'src-'));
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), text);
    }
    return root;
  };

  it('finds a loop between folders through a third one, type-only imports included', () => {
    const r = checkLayers(tree({
      'a/x.ts': "import { y } from '../b/y.js';\nexport const x = y;\n",
      'b/y.ts': "import type { Z } from '../c/z.js';\nexport const y = 1 as Z;\n",
      'c/z.ts': "import { x } from '../a/x.js';\nexport type Z = number;\nvoid x;\n",
      'd/free.ts': "import { x } from '../a/x.js';\nexport const f = x;\n",
    }));
    expect(r.folderLoops).toHaveLength(1);
    expect(r.folderLoops[0]).toMatch(/^import loop between folders a, b, c:/);
    expect(r.folderLoops[0]).toContain('c → a   (c/z.ts → a/x.ts)');
    expect(r.folderLoops[0]).not.toContain('d/free.ts');
  });

  it('finds a loop between two files of one folder and server → cli imports', () => {
    const r = checkLayers(tree({
      'data/dataset.ts': "export { m } from './masks.js';\n",
      'data/masks.ts': "import type { D } from './dataset.js';\nexport const m = 1;\n",
      'server/app.ts': "const inspect = await import('../cli/inspect.js');\n",
      'cli/inspect.ts': 'export const i = 1;\n',
    }));
    expect(r.folderLoops).toEqual([]);
    expect(r.fileLoops).toEqual(['import loop between files data/dataset.ts, data/masks.ts']);
    expect(r.forbidden).toEqual(['server/app.ts imports cli/inspect.ts: the HTTP server must not depend on the command line']);
  });

  it('`npm run check:layers` exits 0 on this repository', async () => {
    const { stdout } = await run('node', ['--import', 'tsx', 'scripts/check-layers.ts'], { cwd: process.cwd() });
    expect(stdout).toMatch(/no import loops between folders or files; server does not import cli/);
  });
});
