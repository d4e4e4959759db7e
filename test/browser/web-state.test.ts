/** Pure parts of the web UI: the URL ↔ view-state mapping, top-k, compare specs, preprocessing for dropped images. */
import { describe, expect, it } from 'vitest';
import { DEFAULTS, formatParams, formatRoute, parseParams, parseRoute } from '../../web/src/app/route.js';
import { specsFor, valuesFor } from '../../web/src/components/ParamForm.js';
import { topK } from '../../web/src/services/explained.js';
import { parseMethods, DEFAULT_METHODS } from '../../web/src/views/CompareView.js';
import { compatibleDatasets, formatPrep, imagePreprocess, parsePrep, rejectReason } from '../../web/src/services/inputs.js';
import { imageShape, npyToInput } from '../../web/src/services/tensor.js';
import { encodeNpy } from '../../src/io/npy.js';

describe('route state in the URL', () => {
  it('round-trips every field and keeps links readable', () => {
    const state = { ...DEFAULTS, view: 'compare' as const, model: 'ab'.repeat(32), sample: 'mnist-samples/3', method: 'lrp', composite: 'epsilon-gamma-box', target: '7', cmap: 'coldnhot', opacity: 0.35, device: 'local' as const, methods: 'lrp:epsilon-plus-flat,gradient' };
    const hash = formatRoute(state);
    expect(hash).toBe(`#/compare?model=${'ab'.repeat(32)}&sample=mnist-samples/3&method=lrp&composite=epsilon-gamma-box&target=7&cmap=coldnhot&opacity=0.35&device=local&methods=lrp:epsilon-plus-flat,gradient`);
    expect(parseRoute(hash)).toEqual({ ...state, result: undefined, job: undefined, params: undefined, prep: undefined });
    // Parameters, input preparation and non-default display modes travel in the link too.
    const more = { ...state, params: 'steps:8,baseline:0.5', prep: 'invert,crop', overlay: 'blend' as const, scale: 'shared' as const };
    const h2 = formatRoute(more);
    expect(h2).toContain('&params=steps:8,baseline:0.5&prep=invert,crop&');
    expect(h2).toContain('&overlay=blend&');
    expect(parseRoute(h2)).toEqual({ ...more, result: undefined, job: undefined });
  });

  it('parameters: numbers stay numbers, text (a layer name) stays text, empty is none', () => {
    expect(parseParams('steps:8,baseline:-0.5,layer:conv%2C1')).toEqual({ steps: 8, baseline: -0.5, layer: 'conv,1' });
    expect(formatParams({ steps: 8, layer: 'conv,1' })).toBe('steps:8,layer:conv%2C1');
    expect(parseParams(formatParams({ steps: 8, layer: 'conv,1' }))).toEqual({ steps: 8, layer: 'conv,1' });
    expect(formatParams({})).toBeUndefined();
    expect(parseParams(undefined)).toEqual({});
  });

  it('forms take the method’s declarations, plus the composite’s for methods that take one (lrp, crp); other methods’ values are dropped', () => {
    const decl = {
      methods: [
        { name: 'lrp', params: [], composite: true },
        { name: 'crp', params: [{ name: 'conditions', type: 'string' as const, description: '' }], composite: true },
        { name: 'integrated-gradients', params: [{ name: 'steps', type: 'integer' as const, default: 20, description: '' }] },
      ],
      composites: [{ name: 'epsilon-gamma-box', params: [{ name: 'gamma', type: 'number' as const, default: 0.25, description: '' }] }],
    };
    expect(specsFor(decl, 'integrated-gradients').map((p) => p.name)).toEqual(['steps']);
    expect(specsFor(decl, 'lrp', 'epsilon-gamma-box').map((p) => p.name)).toEqual(['gamma']);
    expect(specsFor(decl, 'crp', 'epsilon-gamma-box').map((p) => p.name)).toEqual(['conditions', 'gamma']);
    expect(specsFor(decl, 'integrated-gradients', 'epsilon-gamma-box').map((p) => p.name)).toEqual(['steps']);
    expect(valuesFor(specsFor(decl, 'integrated-gradients'), { steps: 8, gamma: 1 })).toEqual({ steps: 8 });
    expect(specsFor(undefined, 'lrp')).toEqual([]);
  });

  it('falls back to defaults for missing or bad values', () => {
    const s = parseRoute('#/nonsense?opacity=abc&device=gpu');
    expect(s.view).toBe('explain');
    expect(s.opacity).toBe(DEFAULTS.opacity);
    expect(s.device).toBe('server');
    expect(parseRoute('#/explain?opacity=7').opacity).toBe(1);
    expect(parseRoute('').method).toBe('lrp');
  });
});

describe('topK', () => {
  it('sorts by score and gives softmax probabilities', () => {
    const t = topK(new Float32Array([1, 3, 2, 0]), 3);
    expect(t.map((x) => x.class)).toEqual([1, 2, 0]);
    const z = Math.exp(1) + Math.exp(3) + Math.exp(2) + Math.exp(0);
    expect(t[0]!.prob).toBeCloseTo(Math.exp(3) / z, 6);
    expect(t[2]!.prob).toBeCloseTo(Math.exp(1) / z, 6);
    // Large logits do not overflow.
    expect(topK(new Float32Array([1000, 999]), 2)[0]!.prob).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });
});

describe('compare specs', () => {
  it('parses method:composite lists, defaulting the composite of lrp', () => {
    expect(parseMethods('lrp:epsilon-plus,gradient,lrp')).toEqual([{ method: 'lrp', composite: 'epsilon-plus' }, { method: 'gradient' }, { method: 'lrp', composite: 'epsilon-plus-flat' }]);
    expect(parseMethods(undefined)).toEqual(parseMethods(DEFAULT_METHODS));
  });

  it('carries parameters after ";"', () => {
    expect(parseMethods('lrp:epsilon-gamma-box;gamma=0.5,integrated-gradients;steps=8;baseline=0')).toEqual([
      { method: 'lrp', composite: 'epsilon-gamma-box', params: { gamma: 0.5 } },
      { method: 'integrated-gradients', params: { steps: 8, baseline: 0 } },
    ]);
  });
});

describe('inputs', () => {
  const model = { id: 'x', name: 'm', bytes: 1, opset: 17, createdAt: '', inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }], outputs: [] };
  const mnist = { name: 'mnist', count: 8, shape: [1, 28, 28], preprocess: { size: [28, 28] as [number, number], grayscale: true, mean: [0.1307], std: [0.3081] } };

  it('takes the preprocessing of the model, else size/greyscale from its input and mean/std from a dataset of that shape', () => {
    expect(imageShape(model.inputs[0])).toEqual({ c: 1, h: 28, w: 28 });
    expect(imagePreprocess(model, [mnist])).toEqual({ size: [28, 28], grayscale: true, mean: [0.1307], std: [0.3081] });
    expect(imagePreprocess(model, [])).toEqual({ size: [28, 28], grayscale: true });
    expect(imagePreprocess({ ...model, preprocess: { size: [28, 28], mean: [0.5], std: [0.5] } }, [mnist])).toEqual({ size: [28, 28], mean: [0.5], std: [0.5] });
    expect(imagePreprocess({ ...model, inputs: [{ name: 't', dtype: 'float32', shape: ['batch', 'seq'] }] }, [mnist])).toEqual({});
  });

  it('offers only datasets of the model’s input shape', () => {
    const rgb = { ...mnist, name: 'rgb', shape: [3, 32, 32] };
    expect(compatibleDatasets(model, [mnist, rgb]).map((d) => d.name)).toEqual(['mnist']);
    expect(compatibleDatasets({ ...model, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 32, 32] }] }, [mnist, rgb]).map((d) => d.name)).toEqual(['rgb']);
    expect(compatibleDatasets({ ...model, inputs: [{ name: 'ids', dtype: 'int64', shape: [1, 'seq'] }] }, [mnist, rgb])).toEqual([]);
    expect(compatibleDatasets(undefined, [mnist, rgb])).toHaveLength(2);
  });

  it('refuses files that are not inputs, with a message naming the file', () => {
    const file = (name: string, type: string, size = 10) => ({ name, type, size }) as File;
    expect(rejectReason(file('notes.txt', 'text/plain'))).toMatch(/notes\.txt is not an image or a \.npy/);
    expect(rejectReason(file('x.svg', 'image/svg+xml'))).toMatch(/SVG/);
    expect(rejectReason(file('big.png', 'image/png', 30 * 1024 * 1024))).toMatch(/at most 20 MB/);
    expect(rejectReason(file('empty.png', 'image/png', 0))).toMatch(/empty/);
    expect(rejectReason(file('digit.png', 'image/png'))).toBeUndefined();
    expect(rejectReason(file('sample.npy', ''))).toBeUndefined();
  });

  it('input preparation round-trips through the URL', () => {
    expect(parsePrep('invert,crop')).toEqual({ invert: true, crop: true });
    expect(parsePrep(undefined)).toEqual({ invert: false, crop: false });
    expect(formatPrep({ invert: true, crop: false })).toBe('invert');
    expect(formatPrep({ invert: false, crop: false })).toBeUndefined();
  });

  it('shapes an .npy sample like the model input', () => {
    const data = Float32Array.from({ length: 784 }, (_, i) => i / 784);
    const t = npyToInput(encodeNpy(data, [1, 28, 28]), model.inputs[0]);
    expect(t.dims).toEqual([1, 1, 28, 28]);
    expect(t.data[783]).toBeCloseTo(783 / 784, 6);
    expect(() => npyToInput(encodeNpy(new Float32Array(10), [10]), model.inputs[0])).toThrow(/10 values/);
  });
});
