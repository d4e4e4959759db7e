import { InvalidArgumentError } from '../../errors.js';
import { defineMetric } from '../core/define.js';
import { choiceParam, normaliseMode, boolParam, numParam } from '../core/params.js';
import { preprocessAttributions, sampleOf } from '../core/input.js';
import { explainMany, requireExplain, scoreSamples } from '../core/batching.js';
import { SIMILARITIES, similarity } from './parameter-randomisation.js';

/**
 * Sixt et al. 2020: explain each sample for a class drawn uniformly from the other classes and measure the
 * similarity (SSIM by default) with the explanation of the target. Lower = the explanation depends on the class.
 */
export const randomLogit = defineMetric({
  name: 'random-logit',
  category: 'randomisation',
  direction: 'lower',
  needs: { explain: true, score: true },
  description: 'Similarity of the explanation to that of a random other class (Sixt et al., 2020); lower = better.',
  defaults: { normalise: 'batch', abs: false, numClasses: 0, similarity: 'ssim' },
  async compute(p, ctx, params, out, rand) {
    const explain = requireExplain('random-logit', ctx);
    const sim = choiceParam('random-logit', params, 'similarity', SIMILARITIES);
    let classes = numParam('random-logit', params, 'numClasses', { min: 0, integer: true });
    // 0 = ask the model how many classes it scores.
    if (classes === 0) classes = (await scoreSamples('random-logit', ctx, p.x.subarray(0, p.d), [1, ...p.shape.slice(1)])).classes;
    if (classes < 2) throw new InvalidArgumentError('random-logit.numClasses', `needs at least 2 classes, got ${classes}`);
    const other = Int32Array.from(p.y, (y) => {
      const c = Math.floor(rand() * (classes - 1));
      return c >= y ? c + 1 : c;
    });
    const raw = new Float32Array(p.n * p.d);
    await explainMany('random-logit', explain, ctx, p.shape.slice(1), p.n,
      (i, dst) => {
        dst.set(sampleOf(p.x, i, p.d));
        return other[i]!;
      },
      (i, a) => raw.set(a, i * p.d),
    );
    // Each off-class explanation is normalised on its own, as Quantus explains (and normalises) one sample at a time.
    const mode = normaliseMode('random-logit', params.normalise);
    const a2 = preprocessAttributions(raw, p.n, p.d, mode === 'none' ? 'none' : 'sample', boolParam('random-logit', params, 'abs'));
    for (let i = 0; i < p.n; i++) out.set(i, similarity(sim, sampleOf(p.a, i, p.d), sampleOf(a2, i, p.d)), 'similarity undefined (constant explanation or too few features for SSIM)');
  },
});
