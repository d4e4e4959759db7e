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
}

/** AttnLRP (Gradient × Input form): identity rule on activations, uniform rule on products, norms' statistics fixed. */
function attnLrp(p: Params): CompositeEntry[] {
  return [
    { match: { kind: 'activation' }, rule: 'identity', params: { epsilon: p.epsilon! } },
    { match: { kind: ['product', 'scores'] }, rule: 'uniform' },
    { match: { kind: 'norm' }, rule: 'norm-identity' },
    // Recurrent cells (LSTM/GRU): Arras et al.'s rule, the standard for gates, under every LRP composite.
    { match: { kind: 'gate' }, rule: 'signal-take-all' },
  ];
}

const first = (rule: string, params: Params): CompositeEntry => ({ match: { first: true }, rule, params });

export const NAMED_COMPOSITES: Readonly<Record<string, NamedComposite>> = {
  'epsilon-plus': {
    description: 'Epsilon for dense layers, ZPlus for convolutions',
    params: { epsilon: 1e-6, stabilizer: 1e-6 },
    build: (p) => [...base(p), { match: { kind: 'conv' }, rule: 'zplus', params: { stabilizer: p.stabilizer! } }, { match: { kind: 'dense' }, rule: 'epsilon', params: { epsilon: p.epsilon! } }],
  },
  'epsilon-plus-flat': {
    description: 'epsilon-plus, with the Flat rule on the first linear layer',
    params: { epsilon: 1e-6, stabilizer: 1e-6 },
    build: (p) => [first('flat', { stabilizer: p.stabilizer! }), ...NAMED_COMPOSITES['epsilon-plus']!.build(p)],
  },
  'epsilon-alpha2-beta1': {
    description: 'Epsilon for dense layers, AlphaBeta(α=2, β=1) for convolutions',
    params: { epsilon: 1e-6, stabilizer: 1e-6 },
    build: (p) => [...base(p), { match: { kind: 'conv' }, rule: 'alpha-beta', params: { alpha: 2, beta: 1, stabilizer: p.stabilizer! } }, { match: { kind: 'dense' }, rule: 'epsilon', params: { epsilon: p.epsilon! } }],
  },
  'epsilon-alpha2-beta1-flat': {
    description: 'epsilon-alpha2-beta1, with the Flat rule on the first linear layer',
    params: { epsilon: 1e-6, stabilizer: 1e-6 },
    build: (p) => [first('flat', { stabilizer: p.stabilizer! }), ...NAMED_COMPOSITES['epsilon-alpha2-beta1']!.build(p)],
  },
  'epsilon-gamma-box': {
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

/** The composite LRP uses when none is named (CNNs and MLPs; token models default to attnlrp). */
export const DEFAULT_COMPOSITE = 'epsilon-plus-flat';

/** A named composite with its parameters; unknown parameter names are an error, not silently ignored. */
export function namedComposite(name: string, params: Record<string, number> = {}): Composite {
  const key = name.toLowerCase().replace(/_/g, '-');
  const def = NAMED_COMPOSITES[key];
  if (!def) throw new InvalidArgumentError('--composite', `unknown composite '${name}'`, `known composites: ${COMPOSITE_NAMES.join(', ')}; or a JSON file with a user-defined composite`);
  for (const k of Object.keys(params)) {
    if (!(k in def.params)) {
      throw new InvalidArgumentError('--param', `composite '${key}' has no parameter '${k}'`, Object.keys(def.params).length ? `its parameters: ${Object.keys(def.params).join(', ')}` : 'it takes no parameters');
    }
  }
  return { name: key, description: def.description, entries: def.build({ ...def.params, ...params }), ...(def.form ? { form: def.form } : {}) };
}
