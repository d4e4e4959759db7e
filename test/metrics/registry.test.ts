import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as xsys from '../../src/index.js';

describe('registry', () => {
  it('has every metric of the issue, each with a category, a direction and Quantus-style defaults', async () => {
    const { METRIC_NAMES, METRICS } = xsys;
    const want = [
      'faithfulness-correlation', 'faithfulness-estimate', 'pixel-flipping', 'region-perturbation', 'selectivity', 'monotonicity',
      'monotonicity-correlation', 'sensitivity-n', 'irof', 'road', 'infidelity', 'sufficiency',
      'max-sensitivity', 'avg-sensitivity', 'local-lipschitz-estimate', 'continuity', 'consistency', 'relative-input-stability', 'relative-output-stability',
      'pointing-game', 'attribution-localisation', 'top-k-intersection', 'relevance-mass-accuracy', 'relevance-rank-accuracy', 'auc', 'focus',
      'sparseness', 'complexity', 'effective-complexity', 'mst-c',
      'mprt', 'smooth-mprt', 'efficient-mprt', 'random-logit',
      'completeness', 'non-sensitivity', 'input-invariance',
    ];
    expect([...METRIC_NAMES].sort()).toEqual([...want].sort());
    for (const m of METRICS.values()) {
      expect(['higher', 'lower']).toContain(m.direction);
      expect(m.defaults).toHaveProperty('normalise');
      expect(m.defaults).toHaveProperty('abs');
      expect(m.description.length).toBeGreaterThan(10);
    }
  });
});

describe('documentation', () => {
  it('src/metrics/README.md has a row per metric with its category and direction', () => {
    const readme = readFileSync('src/metrics/README.md', 'utf8');
    for (const m of xsys.METRICS.values()) {
      expect(readme).toContain(`| \`${m.name}\` | ${m.category} | ${m.direction} |`);
    }
  });
});

describe('lookup', () => {
  it('getMetric returns the registered metric; an unknown name is an InvalidArgumentError listing the metrics', () => {
    expect(xsys.getMetric('sparseness')).toBe(xsys.METRICS.get('sparseness'));
    expect(xsys.getMetric('pixel-flipping').name).toBe('pixel-flipping');
    let err: unknown;
    try {
      xsys.getMetric('accuracy');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(xsys.InvalidArgumentError);
    expect((err as InstanceType<typeof xsys.InvalidArgumentError>).message).toBe("--metric: unknown metric 'accuracy'");
    expect((err as InstanceType<typeof xsys.InvalidArgumentError>).hint).toContain('faithfulness-correlation');
  });

  it('metricsIn lists each category in registry order, and the categories partition the registry', () => {
    expect(xsys.metricsIn('complexity').map((m) => m.name)).toEqual(['sparseness', 'complexity', 'effective-complexity', 'mst-c']);
    expect(xsys.metricsIn('randomisation').map((m) => m.name)).toEqual(['mprt', 'smooth-mprt', 'efficient-mprt', 'random-logit']);
    expect(xsys.metricsIn('axiomatic').map((m) => m.name)).toEqual(['completeness', 'non-sensitivity', 'input-invariance']);
    const categories = ['faithfulness', 'robustness', 'localisation', 'complexity', 'randomisation', 'axiomatic'] as const;
    const counts = categories.map((c) => xsys.metricsIn(c).length);
    expect(counts).toEqual([12, 7, 7, 4, 4, 3]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(xsys.METRIC_NAMES.length);
    for (const c of categories) for (const m of xsys.metricsIn(c)) expect(m.category).toBe(c);
  });
});
