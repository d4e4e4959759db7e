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
