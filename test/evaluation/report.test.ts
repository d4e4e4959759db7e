import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { evaluationChart, metaChart, relativeQuality, svgToPng } from '../../src/evaluation/report/chart.js';
import { evaluationCsv, evaluationTable, metaCsv, metaTable, samplesCsv, toCsv, toJson } from '../../src/evaluation/report/tables.js';
import { esc, fmt, textOn, viridis } from '../../src/evaluation/report/svg.js';
import type { EvaluationResult } from '../../src/evaluation/evaluate.js';
import type { MetaEvaluationResult } from '../../src/metrics/meta/run.js';

function result(): EvaluationResult {
  const cell = (method: string, metric: string, scores: number[]) => {
    const finite = scores.filter(Number.isFinite);
    const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
    const std = Math.sqrt(finite.reduce((a, b) => a + (b - mean) ** 2, 0) / finite.length);
    return { method, metric, mean, std, valid: finite.length, scores, nanReasons: scores.some(Number.isNaN) ? { 'constant attribution': scores.filter(Number.isNaN).length } : {}, ms: 1 };
  };
  return {
    model: 'models/m.onnx',
    data: { source: 'data/x.npy', samples: 2, shape: [2, 1, 2, 2] },
    methods: ['lrp:<eps>', 'gradient'],
    metrics: [
      { name: 'pixel-flipping', category: 'faithfulness', direction: 'lower', params: {} },
      { name: 'sparseness', category: 'complexity', direction: 'higher', params: {} },
    ],
    targets: [3, 1],
    accuracy: 1,
    cells: [cell('lrp:<eps>', 'pixel-flipping', [1, 3]), cell('lrp:<eps>', 'sparseness', [0.5, NaN]), cell('gradient', 'pixel-flipping', [4, 4]), cell('gradient', 'sparseness', [0.75, 0.25])],
    settings: { batchSize: 64, seed: 0, target: 'pred' },
    timing: { totalMs: 1, explainMs: 1, metricsMs: 1, ortMs: 1, ortRuns: 1, metricsOrtMs: 1 },
  };
}

describe('relativeQuality', () => {
  it('maps each value to its place between worst and best in the metric direction', () => {
    expect(relativeQuality([1, 3, 2], 'higher')).toEqual([0, 1, 0.5]);
    expect(relativeQuality([1, 3, 2], 'lower')).toEqual([1, 0, 0.5]);
    const q = relativeQuality([NaN, 2, 2], 'higher');
    expect(Number.isNaN(q[0])).toBe(true);
    expect(q.slice(1)).toEqual([1, 1]);
  });
});

describe('evaluationChart', () => {
  it('draws one cell per method × metric, stars the best per metric and escapes labels', () => {
    const svg = evaluationChart(result());
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<rect x="\d+(\.\d+)?" y="\d+(\.\d+)?" width="\d+(\.\d+)?" height="44" rx="3"/g)).toHaveLength(4);
    // pixel-flipping (lower better): lrp mean 2 beats gradient 4; sparseness: lrp 0.5 ties gradient 0.5 → both best.
    expect(svg).toContain('★ 2</text>');
    expect(svg).toContain('>4</text>');
    expect((svg.match(/★ 0\.5<\/text>/g) ?? []).length).toBe(2);
    expect(svg).toContain('lrp:&lt;eps&gt;');
    expect(svg).not.toContain('lrp:<eps>');
    expect(svg).toContain('1 n/a');
    expect(svg).toContain('↓ lower is better');
  });

  it('renders to a PNG with sharp', async () => {
    const png = await svgToPng(evaluationChart(result()), 72);
    expect(Array.from(png.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const meta = await sharp(png).metadata();
    const w = Number(/width="(\d+)"/.exec(evaluationChart(result()))![1]);
    expect(meta.width).toBe(w);
    expect((await sharp(await svgToPng(evaluationChart(result()))).metadata()).width).toBe(2 * w);
  });

  it('svgToPng rasterises at density/72 pixels per SVG unit, colours exact on filled areas', async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="2"><rect width="2" height="2" fill="#ff0000"/><rect x="2" width="2" height="2" fill="#0080ff"/></svg>';
    const one = await sharp(await svgToPng(svg, 72)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([one.info.width, one.info.height]).toEqual([4, 2]);
    const px = (d: Buffer, w: number, x: number, y: number) => Array.from(d.subarray((y * w + x) * 3, (y * w + x) * 3 + 3));
    expect(px(one.data, 4, 0, 0)).toEqual([255, 0, 0]);
    expect(px(one.data, 4, 3, 1)).toEqual([0, 128, 255]);
    const two = await sharp(await svgToPng(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([two.info.width, two.info.height]).toEqual([8, 4]);
    expect(px(two.data, 8, 7, 3)).toEqual([0, 128, 255]);
  });
});

describe('tables', () => {
  it('text table marks the best method per metric and lists NaN reasons', () => {
    const t = evaluationTable(result());
    expect(t).toContain('pixel-flipping ↓');
    expect(t).toMatch(/lrp:<eps>\s+\*2 ± 1\s+\*0\.5 ± 0 \(1 n\/a\)/);
    expect(t).toMatch(/gradient\s+4 ± 0\s+\*0\.5 ± 0\.25/);
    expect(t).toContain('lrp:<eps> × sparseness: 1 sample(s) n/a — constant attribution');
  });

  it('CSV quotes fields that need it and leaves NaN empty', () => {
    expect(toCsv([['a,b', 'say "hi"', NaN, 1.5]])).toBe('"a,b","say ""hi""",,1.5\n');
    const csv = evaluationCsv(result()).split('\n');
    expect(csv[0]).toBe('method,metric,category,direction,mean,std,valid,samples,nan_reasons');
    expect(csv[1]).toBe('lrp:<eps>,pixel-flipping,faithfulness,lower,2,1,2,2,');
    expect(csv[2]).toBe('lrp:<eps>,sparseness,complexity,higher,0.5,0,1,2,1× constant attribution');
    const samples = samplesCsv(result(), ['s0', 's1']).split('\n');
    expect(samples[1]).toBe('0,s0,3,lrp:<eps>,pixel-flipping,1');
    expect(samples[4]).toBe('1,s1,1,lrp:<eps>,sparseness,');
  });

  it('JSON writes NaN as null and typed arrays as arrays', () => {
    expect(JSON.parse(toJson({ a: NaN, b: Float64Array.from([1, NaN]) }))).toEqual({ a: null, b: [1, null] });
  });

  it('meta table and CSV list MC̄ and the four parts per family', () => {
    const fam = { IAC_NR: 0.9, IAC_AR: 0.8, IEC_NR: 0.7, IEC_AR: 0.6, MC: 0.75, MCstd: 0.01, IEC_AR_allLowerIsBetter: 0.4, MC_allLowerIsBetter: 0.7 };
    const r = { metric: 'sparseness', category: 'complexity', direction: 'higher', methods: ['a', 'b'], samples: 4, tests: [], families: { model: fam, input: { ...fam, MC: 0.5 } }, mc: 0.625, settings: { iterations: 1, perturbations: 1, seed: 0, tests: [] }, timing: { totalMs: 1 } } as MetaEvaluationResult;
    expect(metaTable([r])).toMatch(/sparseness\s+complexity\s+↑\s+0\.625\s+0\.750\s+0\.900\s+0\.800\s+0\.700\s+0\.600\s+0\.500/);
    expect(metaCsv([r]).split('\n')[1]).toBe('sparseness,complexity,higher,0.625,model,0.75,0.01,0.9,0.8,0.7,0.6,0.4,0.7');
    const svg = metaChart([r, { ...r, metric: 'complexity', mc: 0.4 }], 'sub');
    expect(svg).toContain('★ sparseness');
    expect(svg).not.toContain('★ complexity');
    expect(svg).toContain('0.625');
  });
});

describe('svg helpers', () => {
  it('formats, escapes and colours', () => {
    expect(fmt(0.000123)).toBe('1.23e-4');
    expect(fmt(12.3456)).toBe('12.3');
    expect(fmt(NaN)).toBe('n/a');
    expect(esc('<a & "b">')).toBe('&lt;a &amp; &quot;b&quot;&gt;');
    expect(viridis(0)).toEqual([0x44, 0x01, 0x54]);
    expect(viridis(1)).toEqual([0xfd, 0xe7, 0x25]);
    expect(textOn(viridis(0))).toBe('#fff');
    expect(textOn(viridis(1))).toBe('#111');
  });
});
