import { InvalidArgumentError } from '../errors.js';
import type { Composite, CompositeEntry } from './types.js';

type Params = Record<string, number>;

/**
 * Zennit's base map: activations pass relevance, sums and average pooling use the Norm rule, BatchNorm passes.
 * Reductions (ReduceSum/ReduceMean: sums and averages over axes that no Zennit module covers) and Resize (an
 * interpolation: weighted sums of inputs) get the Norm rule too, so relevance is conserved through them instead of
 * being scaled by the plain gradient; for nearest upsampling that is the relevance of the copies summed back. LayerNorm/RMSNorm (the op or
 * the decomposed layer) get AttnLRP's identity rule on normalisations — the statistic held constant, so the layer is
 * linear and relevance is conserved (up to what the shift β absorbs) — where the plain gradient would cancel it.
 * Gate products of LSTM/GRU cells get Arras et al.'s signal-take-all (the gate passes no relevance).
 */
function base(p: Params): CompositeEntry[] {
  return [
    { match: { kind: 'activation' }, rule: 'pass' },
    { match: { kind: 'sum' }, rule: 'norm', params: { stabilizer: p.stabilizer! } },
    { match: { kind: ['avgpool', 'reduce', 'resize'] }, rule: 'norm', params: { stabilizer: p.stabilizer! } },
    { match: { kind: 'batchnorm' }, rule: 'pass' },
    { match: { kind: 'norm' }, rule: 'norm-identity' },
    { match: { kind: 'gate' }, rule: 'signal-take-all' },
  ];
}

interface NamedComposite {
  description: string;
  params: Params;
  build(p: Params): CompositeEntry[];
  form?: Composite['form'];
  /** One of Zennit's composites: `zennit:<name>` gives it exactly as Zennit computes it (see zennitExtensions). */
  zennit?: boolean;
}

/**
 * What xsys adds to Zennit's composites, for units Zennit has no rule for (its modules cover none of them, so autograd's
 * plain gradient runs through them there):
 * - a gate computed from a pooled copy of its signal (squeeze-excitation, CBAM) gets signal-take-all: by the plain
 *   gradient the gate branch receives Σ x·R and its global pool spreads that over the map in proportion to x — a
 *   target-independent map that swamps the target's own relevance in MobileNetV3-style networks;
 * - attention as AttnLRP treats it: other products of two activations (q·kᵀ, attn·v, gate·up) the uniform rule, a
 *   softmax inside the graph its Gradient × Input rule. The plain gradient on relevance counts a product's relevance
 *   once per operand, multiplied by the other operand, and a softmax's sums to zero: relevance grows without bound
 *   through the attention blocks of hybrid CNN–transformer models, or vanishes.
 * `zennit:<composite>` leaves them out, which reproduces Zennit number for number (the conformance fixtures).
 */
function zennitExtensions(): CompositeEntry[] {
  return [
    { match: { kind: 'pooled-gate' }, rule: 'signal-take-all' },
    { match: { kind: ['product', 'scores'] }, rule: 'uniform' },
    { match: { opType: 'Softmax' }, rule: 'gradient-times-input' },
  ];
}

/** The prefix that selects a Zennit composite without xsys' extensions. */
export const ZENNIT_PREFIX = 'zennit:';

/** AttnLRP (Gradient × Input form): identity rule on activations, uniform rule on products, norms' statistics fixed. */
function attnLrp(p: Params): CompositeEntry[] {
  return [
    { match: { kind: 'activation' }, rule: 'identity', params: { epsilon: p.epsilon! } },
    { match: { kind: ['product', 'scores'] }, rule: 'uniform' },
    { match: { kind: 'norm' }, rule: 'norm-identity' },
    // Recurrent cells (LSTM/GRU) and squeeze-excitation: Arras et al.'s rule, the standard for gates, under every LRP
    // composite.
    { match: { kind: ['gate', 'pooled-gate'] }, rule: 'signal-take-all' },
  ];
}

const first = (rule: string, params: Params): CompositeEntry => ({ match: { first: true }, rule, params });

export const NAMED_COMPOSITES: Readonly<Record<string, NamedComposite>> = {
  'epsilon-plus': {
    zennit: true,
    description: 'Epsilon for dense layers, ZPlus for convolutions',
    params: { epsilon: 1e-6, stabilizer: 1e-6 },
    build: (p) => [...base(p), { match: { kind: 'conv' }, rule: 'zplus', params: { stabilizer: p.stabilizer! } }, { match: { kind: 'dense' }, rule: 'epsilon', params: { epsilon: p.epsilon! } }],
  },
  'epsilon-plus-flat': {
    zennit: true,
    description: 'epsilon-plus, with the Flat rule on the first linear layer',
    params: { epsilon: 1e-6, stabilizer: 1e-6 },
    build: (p) => [first('flat', { stabilizer: p.stabilizer! }), ...NAMED_COMPOSITES['epsilon-plus']!.build(p)],
  },
  'epsilon-alpha2-beta1': {
    zennit: true,
    description: 'Epsilon for dense layers, AlphaBeta(α=2, β=1) for convolutions',
    params: { epsilon: 1e-6, stabilizer: 1e-6 },
    build: (p) => [...base(p), { match: { kind: 'conv' }, rule: 'alpha-beta', params: { alpha: 2, beta: 1, stabilizer: p.stabilizer! } }, { match: { kind: 'dense' }, rule: 'epsilon', params: { epsilon: p.epsilon! } }],
  },
  'epsilon-alpha2-beta1-flat': {
    zennit: true,
    description: 'epsilon-alpha2-beta1, with the Flat rule on the first linear layer',
    params: { epsilon: 1e-6, stabilizer: 1e-6 },
    build: (p) => [first('flat', { stabilizer: p.stabilizer! }), ...NAMED_COMPOSITES['epsilon-alpha2-beta1']!.build(p)],
  },
  'epsilon-gamma-box': {
    zennit: true,
    description: 'Epsilon for dense layers, Gamma for convolutions, ZBox(low, high) on the first layer (bounds default to the input batch range)',
    params: { epsilon: 1e-6, stabilizer: 1e-6, gamma: 0.25, low: Number.NaN, high: Number.NaN },
    build: (p) => [
      first('zbox', { low: p.low!, high: p.high!, stabilizer: p.stabilizer! }),
      ...base(p),
      { match: { kind: 'conv' }, rule: 'gamma', params: { gamma: p.gamma!, stabilizer: p.stabilizer! } },
      { match: { kind: 'dense' }, rule: 'epsilon', params: { epsilon: p.epsilon! } },
    ],
  },
  'excitation-backprop': {
    zennit: true,
    description: 'ZPlus on every linear layer; sums and average pooling by Norm; activations by their gradient',
    params: { stabilizer: 1e-6 },
    build: (p) => [
      { match: { kind: 'sum' }, rule: 'norm', params: { stabilizer: p.stabilizer! } },
      { match: { kind: ['avgpool', 'reduce', 'resize'] }, rule: 'norm', params: { stabilizer: p.stabilizer! } },
      { match: { kind: 'norm' }, rule: 'norm-identity' },
      { match: { kind: 'gate' }, rule: 'signal-take-all' },
      { match: { kind: ['conv', 'dense'] }, rule: 'zplus', params: { stabilizer: p.stabilizer! } },
    ],
  },
  'guided-backprop': {
    description: 'gradient with the guided-backprop ReLU rule',
    params: {},
    build: () => [{ match: { opType: 'Relu' }, rule: 'guided-backprop' }],
  },
  deconvnet: {
    description: 'gradient with the DeconvNet ReLU rule',
    params: {},
    build: () => [{ match: { opType: 'Relu' }, rule: 'deconvnet' }],
  },
  attnlrp: {
    description: 'AttnLRP for transformers (Gradient × Input form): identity rule on activations, uniform rule on products of activations, LayerNorm/RMSNorm statistics held constant, plain gradient elsewhere',
    params: { epsilon: 1e-10 },
    form: 'gradient',
    build: attnLrp,
  },
  'cp-lrp': {
    description: 'CP-LRP: AttnLRP with no gradient into query and key (attention scores act as constants)',
    params: { epsilon: 1e-10 },
    form: 'gradient',
    build: (p) => [{ match: { kind: 'scores' }, rule: 'stop-gradient' }, ...attnLrp(p)],
  },
};

export const COMPOSITE_NAMES = Object.keys(NAMED_COMPOSITES);

/** Every name a request may give: the named composites and `zennit:<name>` for Zennit's own. */
export const COMPOSITE_CHOICES: readonly string[] = [...COMPOSITE_NAMES, ...COMPOSITE_NAMES.filter((n) => NAMED_COMPOSITES[n]!.zennit).map((n) => `${ZENNIT_PREFIX}${n}`)];

/** The composite LRP uses when none is named (CNNs and MLPs; token models default to attnlrp). */
export const DEFAULT_COMPOSITE = 'epsilon-plus-flat';

/**
 * A named composite with its parameters; unknown parameter names are an error, not silently ignored. Zennit's
 * composites carry xsys' extensions (zennitExtensions) unless named `zennit:<name>`.
 */
export function namedComposite(name: string, params: Record<string, number> = {}): Composite {
  const lower = name.toLowerCase().replace(/_/g, '-');
  const strict = lower.startsWith(ZENNIT_PREFIX);
  const key = strict ? lower.slice(ZENNIT_PREFIX.length) : lower;
  const def = NAMED_COMPOSITES[key];
  if (!def) throw new InvalidArgumentError('--composite', `unknown composite '${name}'`, `known composites: ${COMPOSITE_NAMES.join(', ')} (Zennit's exactly: zennit:<name>); or a JSON file with a user-defined composite`);
  if (strict && !def.zennit) throw new InvalidArgumentError('--composite', `'${key}' is not one of Zennit's composites, so '${name}' means nothing`, `zennit: applies to ${COMPOSITE_NAMES.filter((n) => NAMED_COMPOSITES[n]!.zennit).join(', ')}`);
  for (const k of Object.keys(params)) {
    if (!(k in def.params)) {
      throw new InvalidArgumentError('--param', `composite '${key}' has no parameter '${k}'`, Object.keys(def.params).length ? `its parameters: ${Object.keys(def.params).join(', ')}` : 'it takes no parameters');
    }
  }
  const entries = def.build({ ...def.params, ...params });
  return {
    name: strict ? `${ZENNIT_PREFIX}${key}` : key,
    description: strict ? `${def.description} (exactly as Zennit computes it)` : def.description,
    entries: def.zennit && !strict ? [...entries, ...zennitExtensions()] : entries,
    ...(def.form ? { form: def.form } : {}),
  };
}
