/** The table of method-parameter and input limits (issue 10, defects 5 and 9): bounds, overrides, typed errors. */
import { describe, expect, it } from 'vitest';

import { InvalidArgumentError, LimitExceededError } from '../../src/errors.js';
import { METHODS } from '../../src/methods/registry.js';
import { bounds, checkMethodParams, checkValue, checkWork, evaluationsOf, limitKeys, maxOf, METHOD_LIMITS, parseLimitOverrides } from '../../src/methods/limits.js';

describe('method and input limits', () => {
  it('is plain data: method → param → {min, max, description}', () => {
    expect(METHOD_LIMITS['integrated-gradients']!.steps).toMatchObject({ min: 1, max: 512, integer: true });
    expect(METHOD_LIMITS.smoothgrad!.samples!.max).toBe(256);
    for (const params of Object.values(METHOD_LIMITS)) for (const l of Object.values(params)) expect(l.min).toBeLessThanOrEqual(l.max);
    expect(limitKeys().map((k) => k.key)).toEqual(expect.arrayContaining(['input.elements', 'input.batch', 'input.evaluations', 'occlusion.window', 'lrp.epsilon']));
  });

  it("the method registry's parameter specs take their bounds from this table (one source)", () => {
    let checked = 0;
    for (const m of METHODS) {
      for (const p of m.params) {
        const l = METHOD_LIMITS[m.name]?.[p.name];
        if (!l) continue;
        expect({ param: `${m.name}.${p.name}`, min: p.min, max: p.max }).toEqual({ param: `${m.name}.${p.name}`, min: l.min, max: l.max });
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
    expect(() => bounds('occlusion', 'no-such')).toThrow(/no limit declared/);
  });

  it('invalid values are errors, not clamps; values over a maximum are LimitExceededErrors', () => {
    expect(() => checkMethodParams('integrated-gradients', { steps: 1e9 })).toThrow(LimitExceededError);
    expect(() => checkMethodParams('integrated-gradients', { steps: 1e9 })).toThrow(/integrated-gradients steps: 1000000000 exceeds the limit of 512/);
    expect(() => checkMethodParams('integrated-gradients', { steps: 0 })).toThrow(InvalidArgumentError);
    expect(() => checkMethodParams('smoothgrad', { samples: -5 })).toThrow(/must be ≥ 1 \(got -5\)/);
    expect(() => checkMethodParams('smoothgrad', { samples: 2.5 })).toThrow(/whole number/);
    expect(() => checkMethodParams('lrp', { epsilon: -1 })).toThrow(/epsilon: must be ≥ 0/);
    expect(() => checkMethodParams('lrp', { epsilon: Number.NaN })).toThrow(/finite/);
    expect(() => checkMethodParams('smoothgrad', { samples: 256, noiseLevel: 0.2 })).not.toThrow();
  });

  it('servers override maxima by key; unknown keys and bad values are refused', () => {
    const o = parseLimitOverrides(['smoothgrad.samples=1000', 'input.elements=100']);
    expect(o).toEqual({ 'smoothgrad.samples': 1000, 'input.elements': 100 });
    expect(maxOf('smoothgrad.samples', o)).toBe(1000);
    expect(() => checkValue('smoothgrad.samples', 900, o)).not.toThrow();
    expect(() => checkValue('smoothgrad.samples', 900)).toThrow(LimitExceededError);
    expect(() => parseLimitOverrides(['nope.x=1'])).toThrow(/unknown limit 'nope.x'/);
    expect(() => parseLimitOverrides(['input.batch=abc'])).toThrow(/positive number/);
    expect(() => parseLimitOverrides(['input.batch=0'])).toThrow(/positive number/);
  });

  it('bounds the input and the work of a method on it', () => {
    // Occlusion, window 1 stride 1 on a 4096² image: 16.7 M windows.
    expect(evaluationsOf('occlusion', { window: 1, stride: 1 }, 1, [4096, 4096])).toBe(4096 * 4096);
    expect(() => checkWork('occlusion', { window: 1, stride: 1 }, [1, 1, 4096, 4096])).toThrow(/input evaluations: 16777216 exceeds/);
    expect(() => checkWork('gradient', {}, [1, 3, 6000, 6000])).toThrow(/input elements: 108000000 exceeds/);
    expect(() => checkWork('occlusion', { window: 40 }, [1, 1, 28, 28])).toThrow(/window \(40\) is larger than the input/);
    expect(() => checkWork('gradient', {}, [0, 1, 28, 28])).toThrow(/is empty/);
    expect(() => checkWork('gradient', {}, [])).toThrow(/scalar/);
    expect(() => checkWork('smoothgrad', { samples: 200 }, [8, 1, 28, 28])).not.toThrow();
    expect(() => checkWork('smoothgrad', { samples: 200 }, [8, 1, 28, 28], { 'input.evaluations': 1000 })).toThrow(/1600 exceeds the limit of 1000/);
  });
});
