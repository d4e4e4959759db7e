import { describe, expect, it } from 'vitest';
import { parseSpecs, timePaired } from '../../bench/harness.js';

describe('bench --only model:batch:config', () => {
  it('adds one forward baseline per model and batch, keeps the order, drops duplicates', () => {
    expect(parseSpecs('vgg16:1:lrp, vgg16:1:gradient,resnet50:8:lrp,vgg16:1:lrp')).toEqual([
      { model: 'vgg16', batch: 1, config: 'forward' },
      { model: 'vgg16', batch: 1, config: 'lrp' },
      { model: 'vgg16', batch: 1, config: 'gradient' },
      { model: 'resnet50', batch: 8, config: 'forward' },
      { model: 'resnet50', batch: 8, config: 'lrp' },
    ]);
  });

  it('rejects malformed cells, naming them', () => {
    expect(() => parseSpecs('vgg16:1')).toThrow(/'vgg16:1' is not model:batch:config/);
    expect(() => parseSpecs('vgg19:1:lrp')).toThrow(/unknown model 'vgg19'/);
    expect(() => parseSpecs('vgg16:0:lrp')).toThrow(/bad batch '0'/);
    expect(() => parseSpecs('vgg16:1:smoothgrad')).toThrow(/unknown config 'smoothgrad'/);
  });
});

describe('timePaired', () => {
  it('times both functions the same number of times, alternating which goes first', async () => {
    const order: string[] = [];
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const t = await timePaired(
      async () => {
        order.push('a');
        await sleep(2);
      },
      async () => {
        order.push('b');
        await sleep(12);
      },
      4,
    );
    expect(t.a).toHaveLength(4);
    expect(t.b).toHaveLength(4);
    // One warm-up each, then a b, b a, a b, b a.
    expect(order.join('')).toBe('ababbaabba');
    const med = (x: number[]) => [...x].sort((p, q) => p - q)[2]!;
    expect(med(t.b)).toBeGreaterThan(med(t.a));
  });
});
