import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FoundationModel, validateFoundationSpec } from '../../src/lens/foundation.js';
import { clarityOf, readLensIndex, redundancy, writeLensIndex, type LensIndex } from '../../src/lens/embed.js';
import { LensSpace, labelComponents, search } from '../../src/lens/search.js';
import { silhouette } from '../../src/lens/cluster.js';
import { mulberry32 } from '../../src/seeded-random.js';
import { bundledExample, FOUNDATION, type Example } from './fixture.js';

let tmp: string;
let ex: Example;
let space: LensSpace;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'xsys-lens-'));
  ex = await bundledExample(tmp);
  const neutral = await ex.foundation.embedTexts(ex.foundation.spec.neutralPrompts);
  space = LensSpace.fromIndex(ex.index, { data: neutral, n: ex.foundation.spec.neutralPrompts.length });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

describe('the bundled aligned foundation model (examples/lens)', () => {
  it('matches test digits to their names zero-shot (≥ 90 % of 500)', async () => {
    const images = Array.from({ length: 500 }, (_, i) => ({ image: ex.picture(i) }));
    const zi = await ex.foundation.embedImages(images);
    const zt = await ex.foundation.embedTexts(DIGITS.map((d) => `the digit ${d}`));
    let hits = 0;
    for (let i = 0; i < 500; i++) {
      let best = 0;
      let bv = -Infinity;
      for (let k = 0; k < 10; k++) {
        let s = 0;
        for (let j = 0; j < 32; j++) s += zi[i * 32 + j]! * zt[k * 32 + j]!;
        if (s > bv) (bv = s), (best = k);
      }
      if (best === ex.ds.labels![i]) hits++;
    }
    expect(hits / 500).toBeGreaterThan(0.9);
  });

  it('returns unit embeddings and tokenises unknown words to [UNK] without failing', async () => {
    const e = await ex.foundation.embedTexts(['seven', 'a zebra crossing']);
    for (let i = 0; i < 2; i++) expect(Math.hypot(...e.subarray(i * 32, (i + 1) * 32))).toBeCloseTo(1, 5);
  });

  it('masks outside a box (crop: mask) and resizes a cut-out box (crop: resize)', () => {
    const img = { data: Uint8Array.from({ length: 28 * 28 }, () => 255), width: 28, height: 28, channels: 1 as const };
    const x = ex.foundation.preprocess(img, [2, 3, 10, 12]);
    const bg = (0 - 0.1307) / 0.3081;
    const fg = (1 - 0.1307) / 0.3081;
    expect(x[0]).toBeCloseTo(bg, 5);
    expect(x[2 * 28 + 3]).toBeCloseTo(fg, 5);
    expect(x[9 * 28 + 11]).toBeCloseTo(fg, 5);
    expect(x[10 * 28 + 11]).toBeCloseTo(bg, 5);
  });

  it('names the wrong field of a foundation.json', () => {
    expect(() => validateFoundationSpec({ format: 'xsys-foundation-model', name: 'x', imageEncoder: 'a.onnx', image: { input: 'p', size: [28], channels: 1, mean: [0], std: [1], crop: 'mask' } })).toThrow(/image\.size/);
    expect(() => validateFoundationSpec({ format: 'xsys-foundation-model', name: 'x', imageEncoder: 'a.onnx', image: { input: 'p', size: [28, 28], channels: 1, mean: [0], std: [1], crop: 'mask' }, output: 'e', dim: 32, neutralPrompts: [], textEncoder: 't.onnx' })).toThrow(/tokenizer/);
  });

  it('refuses a foundation.json whose encoder lacks the named input', async () => {
    const p = join(tmp, 'bad-foundation.json');
    const spec = JSON.parse(JSON.stringify(ex.foundation.spec));
    spec.image.input = 'image';
    spec.imageEncoder = join(process.cwd(), 'examples/lens/image-encoder.onnx');
    spec.textEncoder = join(process.cwd(), 'examples/lens/text-encoder.onnx');
    spec.tokenizer = join(process.cwd(), 'examples/lens/tokenizer.json');
    writeFileSync(p, JSON.stringify(spec));
    await expect(FoundationModel.load(p)).rejects.toThrow(/no input 'image' \(it has pixels\)/);
    await expect(FoundationModel.load(join(tmp, 'missing.json'))).rejects.toThrow(/missing\.json: cannot read/);
  });
});

describe('semantic embedding of components', () => {
  it('embeds every live channel of three layers with 16 cropped reference samples each, dead units skipped', () => {
    const live = ex.index.components.length;
    expect(live + ex.index.skipped.length).toBe(16 + 32 + 64);
    expect(live).toBeGreaterThan(90);
    for (const c of ex.index.components) {
      expect(c.samples).toHaveLength(16);
      expect(Math.hypot(...c.embedding)).toBeCloseTo(1, 4);
      for (const s of c.samples) expect(s.box[2] - s.box[0]).toBeGreaterThan(0);
    }
    for (const s of ex.index.skipped) expect(ex.state.layers[s.layer]!.relSum.list(s.channel).every(([v]) => v <= 0)).toBe(true);
    expect(ex.index.provenance.foundation).toEqual({ name: 'aligned-mnist', sha256: ex.foundation.fingerprint, dim: 32 });
    expect(ex.index.provenance.model.sha256).toBe(ex.refs.provenance.model.sha256);
  });

  it('clarity is the mean pairwise cosine; components of one digit are clearer than mixed ones', () => {
    const same = Float32Array.from([1, 0, 1, 0, 1, 0]);
    expect(clarityOf(same, 3, 2)).toBeCloseTo(1, 10);
    const orth = Float32Array.from([1, 0, 0, 1]);
    expect(clarityOf(orth, 2, 2)).toBeCloseTo(0, 10);
    const pure = ex.index.components.filter((c) => ex.majority(c)[1] === 1);
    const mixed = ex.index.components.filter((c) => ex.majority(c)[1] <= 0.5);
    expect(pure.length).toBeGreaterThan(10);
    expect(mixed.length).toBeGreaterThan(3);
    const mean = (cs: typeof pure) => cs.reduce((a, c) => a + c.clarity, 0) / cs.length;
    expect(mean(pure)).toBeGreaterThan(mean(mixed) + 0.2);
  });

  it('silhouette separates two tight clusters (≈ 1) and not a random labelling', () => {
    const data = Float32Array.from([1, 0, 0.99, 0.1, 0.98, -0.1, 0, 1, 0.1, 0.99, -0.1, 0.98]);
    expect(silhouette({ data, n: 6, d: 2 }, [0, 0, 0, 1, 1, 1])).toBeGreaterThan(0.9);
    expect(silhouette({ data, n: 6, d: 2 }, [0, 1, 0, 1, 0, 1])).toBeLessThan(0);
  });

  it('redundancy groups near-duplicate embeddings', () => {
    const mk = (channel: number, e: number[]) => ({ layer: 'L', channel, embedding: e, clarity: 1, polysemanticity: { spread: 0, silhouette: 0, centroidCosine: 1, clusters: 1 as const }, samples: [], sampleEmbeddings: [] });
    const idx = { provenance: ex.index.provenance, skipped: [], components: [mk(0, [1, 0]), mk(1, [0.999, 0.0447]), mk(2, [0, 1])] } as LensIndex;
    const r = redundancy(idx, { threshold: 0.99 });
    expect(r.groups).toEqual([[{ layer: 'L', channel: 0 }, { layer: 'L', channel: 1 }]]);
    expect(r.nearest[2]!.other).toEqual({ layer: 'L', channel: 1 });
  });

  it('writes and reads the index with its provenance, refusing another model', async () => {
    const p = join(tmp, 'lens.json');
    await writeLensIndex(p, ex.index);
    const back = await readLensIndex(p, { modelSha256: ex.refs.provenance.model.sha256 });
    expect(back.components[5]).toEqual(ex.index.components[5]);
    await expect(readLensIndex(p, { modelSha256: 'f'.repeat(64) })).rejects.toThrow(/different model/);
  });
});

describe('search and labels', () => {
  it('"seven" ranks first the components whose reference samples are sevens', async () => {
    const hits = search(space, await ex.foundation.embedTexts(['seven']), { top: 5, calibrate: true });
    const comps = hits.map((h) => ex.index.components.find((c) => c.layer === h.layer && c.channel === h.channel)!);
    expect(ex.majority(comps[0]!)).toEqual([7, expect.any(Number)]);
    expect(ex.majority(comps[0]!)[1]).toBeGreaterThanOrEqual(15 / 16);
    for (const c of comps.slice(0, 4)) expect(ex.majority(c)[0]).toBe(7);
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.cosine).toBeLessThanOrEqual(hits[i - 1]!.cosine);
  });

  it('every digit name finds a component of that digit first', async () => {
    const q = await ex.foundation.embedTexts(DIGITS);
    const found = DIGITS.map((_, d) => {
      const [h] = search(space, q.subarray(d * 32, (d + 1) * 32), { top: 1 });
      return ex.majority(ex.index.components.find((c) => c.layer === h!.layer && c.channel === h!.channel)!)[0];
    });
    expect(found).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('calibrates against the neutral prompts: calibrated = cosine − mean neutral cosine', async () => {
    const neutral = await ex.foundation.embedTexts(ex.foundation.spec.neutralPrompts);
    const n = ex.foundation.spec.neutralPrompts.length;
    const [h] = search(space, await ex.foundation.embedTexts(['seven']), { top: 1, calibrate: true });
    const c = ex.index.components.find((x) => x.layer === h!.layer && x.channel === h!.channel)!;
    let base = 0;
    for (let k = 0; k < n; k++) for (let j = 0; j < 32; j++) base += (c.embedding[j]! * neutral[k * 32 + j]!) / n;
    expect(h!.calibrated).toBeCloseTo(h!.cosine - base, 4);
  });

  it('top-k equals a full sort, restricted to layers when asked', () => {
    const rand = mulberry32(3);
    const comps = Array.from({ length: 500 }, (_, i) => {
      const e = Array.from({ length: 8 }, () => rand() - 0.5);
      const s = Math.hypot(...e);
      return { layer: i % 2 ? 'a' : 'b', channel: i, embedding: e.map((v) => v / s) };
    });
    const sp = new LensSpace(comps, 8);
    const q = comps[7]!.embedding;
    const brute = comps.filter((c) => c.layer === 'a').map((c) => ({ ch: c.channel, s: c.embedding.reduce((a, v, j) => a + v * q[j]!, 0) })).sort((x, y) => y.s - x.s);
    expect(search(sp, q, { top: 20, layers: ['a'] }).map((h) => h.channel)).toEqual(brute.slice(0, 20).map((b) => b.ch));
    expect(() => search(sp, q, { top: 0 })).toThrow(/top/);
  });

  it('image search: a test seven as the query finds seven components first', async () => {
    const seven = ex.ds.labels!.indexOf(7);
    const q = await ex.foundation.embedImages([{ image: ex.picture(seven) }]);
    const [h] = search(space, q, { top: 1 });
    expect(ex.majority(ex.index.components.find((c) => c.layer === h!.layer && c.channel === h!.channel)!)[0]).toBe(7);
  });

  it('labels components of one digit with its name; none above an impossible threshold', async () => {
    const zt = await ex.foundation.embedTexts(DIGITS);
    const labels = labelComponents(space, DIGITS, zt);
    const pure = ex.index.components.map((c, i) => ({ c, l: labels[i]! })).filter(({ c }) => ex.majority(c)[1] >= 14 / 16);
    const right = pure.filter(({ c, l }) => l.best === DIGITS[ex.majority(c)[0]]);
    expect(pure.length).toBeGreaterThan(30);
    expect(right.length / pure.length).toBeGreaterThanOrEqual(0.85);
    for (const { l } of right) expect(l.margin).toBeGreaterThanOrEqual(0);
    expect(labelComponents(space, DIGITS, zt, { threshold: 10 }).every((l) => l.label === null)).toBe(true);
  });
});

describe('FoundationModel.load', () => {
  it('loads the bundled settings', async () => {
    const f = await FoundationModel.load(FOUNDATION);
    expect(f.spec.dim).toBe(32);
    expect(f.hasText).toBe(true);
  });
});
