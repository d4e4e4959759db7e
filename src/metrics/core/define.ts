import type { Metric, MetricCategory, MetricContext, MetricNeeds, MetricParams, MetricResult, NormaliseMode, ScoreDirection } from '../types.js';
import { boolParam, normaliseMode, resolveParams } from './params.js';
import { prepareInput, type PreparedInput } from './input.js';
import { mulberry32 } from '../../seeded-random.js';

/** Collects per-sample results; a sample left unset is NaN with the reason 'not evaluated'. */
export class Results {
  readonly scores: Float64Array;
  readonly reasons: (string | null)[];
  readonly curves: Float64Array[] = [];
  constructor(n: number) {
    this.scores = new Float64Array(n).fill(Number.NaN);
    this.reasons = new Array<string | null>(n).fill('not evaluated');
  }
  /** Sets a score; a NaN score without a reason gets `reasonIfNaN`. */
  set(i: number, v: number, reasonIfNaN = 'undefined for this sample'): void {
    this.scores[i] = v;
    this.reasons[i] = Number.isNaN(v) ? reasonIfNaN : null;
  }
  undefinedFor(i: number, reason: string): void {
    this.scores[i] = Number.NaN;
    this.reasons[i] = reason;
  }
  curve(i: number, c: ArrayLike<number>): void {
    this.curves[i] = Float64Array.from(c);
  }
  toResult(): MetricResult {
    const out: MetricResult = { scores: this.scores };
    if (this.reasons.some((r) => r !== null)) out.reasons = this.reasons;
    if (this.curves.length) out.curves = Array.from({ length: this.scores.length }, (_, i) => this.curves[i] ?? new Float64Array(0));
    return out;
  }
}

export interface MetricSpec {
  name: string;
  category: MetricCategory;
  direction: ScoreDirection;
  description: string;
  needs?: MetricNeeds;
  /** Must contain `normalise` and `abs` (Quantus' per-metric defaults). */
  defaults: MetricParams;
  /** What `normalise: true` means for this metric (Quantus' normalise_func default); default 'batch' (by max). */
  normaliseFunc?: NormaliseMode;
  compute(input: PreparedInput, ctx: MetricContext, params: MetricParams, out: Results, rand: () => number): Promise<void> | void;
}

/** Builds a Metric from its spec: parameter resolution, validation and pre-processing happen here, once. */
export function defineMetric(spec: MetricSpec): Metric {
  const needs = spec.needs ?? {};
  return {
    name: spec.name,
    category: spec.category,
    direction: spec.direction,
    needs,
    defaults: Object.freeze({ ...spec.defaults }),
    description: spec.description,
    async evaluate(input, ctx, params) {
      const p = resolveParams(spec.name, spec.defaults, params);
      const prepared = prepareInput(spec.name, input, {
        normalise: normaliseMode(spec.name, p.normalise, spec.normaliseFunc),
        abs: boolParam(spec.name, p, 'abs'),
        needsMasks: needs.masks === true,
      });
      const out = new Results(prepared.n);
      await spec.compute(prepared, ctx, p, out, mulberry32(ctx.seed ?? 0));
      return out.toResult();
    },
  };
}
