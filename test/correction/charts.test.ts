/** The correction charts: bar heights and line points are where the numbers put them. */
import { describe, expect, it } from 'vitest';
import { barChart, lineChart, reevaluationChart } from '../../src/correction/charts.js';

describe('correction charts', () => {
  it('bars: height = value × 220 px on the 0–1 scale, clamped, one per series and group', () => {
    const svg = barChart('t', 's', ['before', 'after'], [{ label: 'acc', values: [0.5, 1.2] }]);
    const heights = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="40" height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights).toEqual([110, 220]);
    expect(svg).toContain('acc — before: 0.5');
  });

  it('lines: points mapped linearly onto the plot; the re-evaluation chart has a group per metric', () => {
    const svg = lineChart('t', 's', 'x', 'y', [{ name: 'c', points: [[0, 0], [1, 1]] }], { x: [0, 1], y: [0, 1] });
    // Plot: left 60, top 70, 480 × 260.
    expect(svg).toContain('points="60.0,330.0 540.0,70.0"');
    const m = { cleanAccuracy: 0.9, artefactAccuracy: 0.5, flippedToClass: 0.4, relevanceShare: 0.3, tcav: { score: 1 } };
    const r = reevaluationChart('t', 's', { before: m, after: { ...m, tcav: { score: 0.5 } } });
    expect([...r.matchAll(/width="40"/g)]).toHaveLength(10);
    expect(r).toContain('TCAV — after: 0.5');
  });
});
