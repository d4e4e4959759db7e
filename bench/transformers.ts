/**
 * Synthetic transformers built directly as ONNX graphs with deterministic random weights (no downloads, no Python),
 * written the way PyTorch / Hugging Face exports write them: head splitting through Shape → Gather → Unsqueeze →
 * Concat → Reshape, positions through Range, additive padding masks from an int64 attention_mask, causal masks
 * through Trilu/Where, LayerNorm as the opset-17 op or decomposed, RMSNorm decomposed, GELU as Erf or tanh subgraph
 * or the opset-20 op, gated SiLU MLPs.
 *
 * Used by the benchmark (BERT-base and ViT-B/16 sizes), by the tests (tiny variants of every pattern) and by the
 * examples.
 */
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, ValueInfoProtoSchema, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from 'onnx-buf';
import { makeNode, type AttrValue } from '../src/onnx/attributes.js';
import { floatTensor, int64Tensor } from '../src/onnx/tensor.js';
import { Rng } from './models.js';

export type NormKind = 'layernorm' | 'layernorm-decomposed' | 'rmsnorm';
export type ActKind = 'gelu-erf' | 'gelu-tanh' | 'gelu-op' | 'silu-gated';

export interface TransformerSpec {
  /** encoder: token classifier on the first token (BERT); decoder: causal LM with next-token logits (GPT/Llama); vit: image classifier. */
  kind: 'encoder' | 'decoder' | 'vit';
  layers: number;
  hidden: number;
  heads: number;
  ffn: number;
  /** Vocabulary (encoder/decoder). */
  vocab?: number;
  /** Longest sequence: rows of the position table (encoder/decoder). */
  maxPositions?: number;
  /** Output classes (encoder/vit). */
  classes?: number;
  /** ViT: image side and patch size. */
  image?: number;
  patch?: number;
  norm: NormKind;
  act: ActKind;
  /** Pre-norm blocks (ViT, GPT, Llama) or post-norm (BERT). */
  preNorm: boolean;
  opset: number;
  /** An int64 attention_mask input turned into an additive padding mask. */
  attentionMask?: boolean;
  /** A third input token_type_ids with its own embedding table. */
  tokenTypes?: boolean;
  /** Softmax over axis 3 written as a positive axis (exports vary). */
  positiveSoftmaxAxis?: boolean;
  /** Linear layers with bias (default true). */
  bias?: boolean;
  /** BERT's tanh pooler before the classifier (encoder). */
  pooler?: boolean;
  /** Leave out position embeddings (tests: a bias-free model then conserves relevance under CP-LRP). */
  noPositions?: boolean;
  seed?: number;
}

function vi(name: string, elemType: number, dims: (number | string)[]): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: { value: { case: 'tensorType', value: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { value: { case: 'dimValue' as const, value: BigInt(d) } } : { value: { case: 'dimParam' as const, value: d } })) } } } },
  });
}

class Builder {
  readonly nodes: NodeProto[] = [];
  readonly inits: TensorProto[] = [];
  private n = 0;
  constructor(
    readonly rng: Rng,
    readonly opset: number,
  ) {}

  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, name = opType): string {
    const base = `/${name}_${this.n++}`;
    const out = `${base}_output_0`;
    this.nodes.push(makeNode(opType, inputs, [out], base, attrs));
    return out;
  }
  normal(name: string, dims: number[], std: number, mean = 0): string {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    this.rng.fillNormal(data, std, mean);
    this.inits.push(floatTensor(name, data, dims));
    return name;
  }
  scalar(v: number): string {
    const name = `c${this.inits.length}_${v}`;
    this.inits.push(floatTensor(name, Float32Array.of(v), []));
    return name;
  }
  ints(values: number[], dims?: number[]): string {
    const name = `i${this.inits.length}`;
    this.inits.push(int64Tensor(name, values, dims));
    return name;
  }
  /** Dimension `k` of x as a 1-element int64 tensor, the way exports compute it. */
  dim(x: string, k: number): string {
    return this.op('Unsqueeze', [this.op('Gather', [this.op('Shape', [x]), this.ints([k], [])], { axis: { int: 0 } }), this.ints([0])]);
  }
  reduceMean(x: string): string {
    return this.opset >= 18 ? this.op('ReduceMean', [x, this.ints([-1])]) : this.op('ReduceMean', [x], { axes: { ints: [-1] } });
  }
  linear(x: string, name: string, din: number, dout: number, bias: boolean): string {
    const y = this.op('MatMul', [x, this.normal(`${name}.weight`, [din, dout], 1 / Math.sqrt(din))], {}, `${name}/MatMul`);
    return bias ? this.op('Add', [this.normal(`${name}.bias`, [dout], 0.02), y], {}, `${name}/Add`) : y;
  }
  norm(x: string, name: string, kind: NormKind, h: number, bias: boolean): string {
    const w = this.normal(`${name}.weight`, [h], 0.05, 1);
    const b = bias && kind !== 'rmsnorm' ? this.normal(`${name}.bias`, [h], 0.02) : undefined;
    if (kind === 'layernorm') return this.op('LayerNormalization', b ? [x, w, b] : [x, w], { axis: { int: -1 }, epsilon: { float: 1e-5 } }, `${name}/LayerNormalization`);
    if (kind === 'layernorm-decomposed') {
      const c = this.op('Sub', [x, this.reduceMean(x)]);
      const v = this.reduceMean(this.op('Pow', [c, this.scalar(2)]));
      const y = this.op('Mul', [this.op('Div', [c, this.op('Sqrt', [this.op('Add', [v, this.scalar(1e-5)])])]), w]);
      return b ? this.op('Add', [y, b]) : y;
    }
    const ms = this.reduceMean(this.op('Pow', [x, this.scalar(2)]));
    const inv = this.op('Reciprocal', [this.op('Sqrt', [this.op('Add', [ms, this.scalar(1e-6)])])]);
    return this.op('Mul', [w, this.op('Mul', [x, inv])]);
  }
  act(x: string, kind: Exclude<ActKind, 'silu-gated'>): string {
    if (kind === 'gelu-op') return this.op('Gelu', [x]);
    if (kind === 'gelu-erf') {
      const e = this.op('Add', [this.op('Erf', [this.op('Div', [x, this.scalar(Math.SQRT2)])]), this.scalar(1)]);
      return this.op('Mul', [this.op('Mul', [x, e]), this.scalar(0.5)]);
    }
    const cube = this.op('Mul', [this.op('Pow', [x, this.scalar(3)]), this.scalar(0.044715)]);
    const t = this.op('Tanh', [this.op('Mul', [this.op('Add', [x, cube]), this.scalar(Math.sqrt(2 / Math.PI))])]);
    return this.op('Mul', [this.op('Mul', [this.scalar(0.5), x]), this.op('Add', [this.scalar(1), t])]);
  }
}

/** Builds the model; same spec and seed → identical weights. */
export function buildTransformer(spec: TransformerSpec): ModelProto {
  const { hidden: H, heads: nh, ffn, layers } = spec;
  const hd = H / nh;
  if (!Number.isInteger(hd)) throw new Error(`hidden ${H} is not divisible by heads ${nh}`);
  const bias = spec.bias ?? true;
  const b = new Builder(new Rng(spec.seed ?? 0), spec.opset);
  const inputs: ValueInfoProto[] = [];
  let h: string;
  let mask: string | undefined;
  if (spec.kind === 'vit') {
    const img = spec.image ?? 224;
    const p = spec.patch ?? 16;
    inputs.push(vi('pixel_values', 1, ['batch', 3, img, img]));
    const conv = b.op('Conv', ['pixel_values', b.normal('patch.weight', [H, 3, p, p], 1 / Math.sqrt(3 * p * p)), b.normal('patch.bias', [H], 0.02)], { kernel_shape: { ints: [p, p] }, strides: { ints: [p, p] }, pads: { ints: [0, 0, 0, 0] } }, 'patch/Conv');
    const flat = b.op('Reshape', [conv, b.op('Concat', [b.dim(conv, 0), b.ints([H]), b.ints([-1])], { axis: { int: 0 } })]);
    const tokens = b.op('Transpose', [flat], { perm: { ints: [0, 2, 1] } });
    const cls = b.op('Expand', [b.normal('cls', [1, 1, H], 0.02), b.op('Concat', [b.dim(conv, 0), b.ints([1, 1])], { axis: { int: 0 } })]);
    const n = (img / p) ** 2 + 1;
    h = b.op('Concat', [cls, tokens], { axis: { int: 1 } });
    if (!spec.noPositions) h = b.op('Add', [h, b.normal('pos', [1, n, H], 0.02)]);
  } else {
    const vocab = spec.vocab ?? 1000;
    inputs.push(vi('input_ids', 7, ['batch', 'sequence']));
    h = b.op('Gather', [b.normal('word_embeddings.weight', [vocab, H], 0.5), 'input_ids'], { axis: { int: 0 } }, 'embeddings/Gather');
    const len = b.op('Gather', [b.op('Shape', ['input_ids']), b.ints([1], [])], { axis: { int: 0 } });
    const positions = b.op('Range', [b.ints([0], []), len, b.ints([1], [])]);
    if (!spec.noPositions) h = b.op('Add', [h, b.op('Gather', [b.normal('position_embeddings.weight', [spec.maxPositions ?? 512, H], 0.1), positions], { axis: { int: 0 } })]);
    if (spec.tokenTypes) {
      inputs.push(vi('token_type_ids', 7, ['batch', 'sequence']));
      h = b.op('Add', [h, b.op('Gather', [b.normal('token_type_embeddings.weight', [2, H], 0.1), 'token_type_ids'], { axis: { int: 0 } })]);
    }
    if (spec.attentionMask) {
      inputs.push(vi('attention_mask', 7, ['batch', 'sequence']));
      const m = b.op('Cast', [b.op('Unsqueeze', ['attention_mask', b.ints([1, 2])])], { to: { int: 1 } });
      mask = b.op('Mul', [b.op('Sub', [b.scalar(1), m]), b.scalar(-1e4)]);
    }
    if (spec.kind === 'decoder') {
      // Causal mask: lower triangle of ones from Trilu, 0 where allowed and −10⁴ above the diagonal.
      const square = b.op('Concat', [b.op('Unsqueeze', [len, b.ints([0])]), b.op('Unsqueeze', [len, b.ints([0])])], { axis: { int: 0 } });
      const ones = b.op('ConstantOfShape', [square], { value: { tensor: floatTensor('one', Float32Array.of(1), [1]) } });
      const lower = b.op('Trilu', [ones], { upper: { int: 0 } });
      const causal = b.op('Where', [b.op('Equal', [lower, b.scalar(0)]), b.scalar(-1e4), b.scalar(0)]);
      mask = mask ? b.op('Add', [mask, causal]) : causal;
    }
    if (!spec.preNorm) h = b.norm(h, 'embeddings.norm', spec.norm, H, bias);
  }
  for (let l = 0; l < layers; l++) {
    const p = `layers.${l}`;
    const x = spec.preNorm ? b.norm(h, `${p}.norm1`, spec.norm, H, bias) : h;
    const heads = (t: string, perm: number[]) =>
      b.op('Transpose', [b.op('Reshape', [t, b.op('Concat', [b.dim(x, 0), b.dim(x, 1), b.ints([nh]), b.ints([hd])], { axis: { int: 0 } })])], { perm: { ints: perm } });
    const q = heads(b.linear(x, `${p}.attn.q`, H, H, bias), [0, 2, 1, 3]);
    const k = heads(b.linear(x, `${p}.attn.k`, H, H, bias), [0, 2, 3, 1]);
    const v = heads(b.linear(x, `${p}.attn.v`, H, H, bias), [0, 2, 1, 3]);
    let scores = b.op('Div', [b.op('MatMul', [q, k], {}, `${p}.attn/MatMul`), b.scalar(Math.sqrt(hd))]);
    if (mask) scores = b.op('Add', [scores, mask]);
    const attn = b.op('Softmax', [scores], { axis: { int: spec.positiveSoftmaxAxis ? 3 : -1 } });
    const ctx = b.op('Transpose', [b.op('MatMul', [attn, v], {}, `${p}.attn/MatMul_1`)], { perm: { ints: [0, 2, 1, 3] } });
    const merged = b.op('Reshape', [ctx, b.op('Concat', [b.dim(x, 0), b.dim(x, 1), b.ints([H])], { axis: { int: 0 } })]);
    h = b.op('Add', [h, b.linear(merged, `${p}.attn.o`, H, H, bias)]);
    if (!spec.preNorm) h = b.norm(h, `${p}.norm1`, spec.norm, H, bias);
    const y = spec.preNorm ? b.norm(h, `${p}.norm2`, spec.norm, H, bias) : h;
    let mid: string;
    if (spec.act === 'silu-gated') {
      const gate = b.linear(y, `${p}.mlp.gate`, H, ffn, bias);
      const silu = b.op('Mul', [gate, b.op('Sigmoid', [gate])]);
      mid = b.op('Mul', [silu, b.linear(y, `${p}.mlp.up`, H, ffn, bias)]);
    } else mid = b.act(b.linear(y, `${p}.mlp.up`, H, ffn, bias), spec.act);
    h = b.op('Add', [h, b.linear(mid, `${p}.mlp.down`, ffn, H, bias)]);
    if (!spec.preNorm) h = b.norm(h, `${p}.norm2`, spec.norm, H, bias);
  }
  if (spec.preNorm) h = b.norm(h, 'norm', spec.norm, H, bias);
  const outputs: ValueInfoProto[] = [];
  if (spec.kind === 'decoder') {
    b.nodes.push(makeNode('MatMul', [h, b.normal('lm_head.weight', [H, spec.vocab ?? 1000], 1 / Math.sqrt(H))], ['logits'], '/lm_head/MatMul'));
    outputs.push(vi('logits', 1, ['batch', 'sequence', spec.vocab ?? 1000]));
  } else {
    let cls = b.op('Gather', [h, b.ints([0], [])], { axis: { int: 1 } });
    if (spec.pooler) cls = b.op('Tanh', [b.linear(cls, 'pooler', H, H, bias)]);
    const classes = spec.classes ?? 2;
    const head = [cls, b.normal('classifier.weight', [classes, H], 1 / Math.sqrt(H))];
    if (bias) head.push(b.normal('classifier.bias', [classes], 0.02));
    b.nodes.push(makeNode('Gemm', head, ['logits'], '/classifier/Gemm', { transB: { int: 1 } }));
    outputs.push(vi('logits', 1, ['batch', classes]));
  }
  return create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'xsys-bench',
    opsetImport: [{ domain: '', version: BigInt(spec.opset) }],
    graph: { name: spec.kind, node: b.nodes, initializer: b.inits, input: inputs, output: outputs },
  });
}

/** BERT-base: 12 layers, hidden 768, 12 heads, FFN 3072, vocab 30522, post-norm, padding mask, token types, pooler. */
export const BERT_BASE: TransformerSpec = {
  kind: 'encoder', layers: 12, hidden: 768, heads: 12, ffn: 3072, vocab: 30522, maxPositions: 512, classes: 2,
  norm: 'layernorm', act: 'gelu-erf', preNorm: false, opset: 17, attentionMask: true, tokenTypes: true, pooler: true,
};

/** ViT-B/16: 224×224 images, patch 16 (197 tokens), 12 layers, hidden 768, 12 heads, FFN 3072, pre-norm. */
export const VIT_B16: TransformerSpec = {
  kind: 'vit', layers: 12, hidden: 768, heads: 12, ffn: 3072, image: 224, patch: 16, classes: 1000,
  norm: 'layernorm', act: 'gelu-erf', preNorm: true, opset: 17,
};

/** Deterministic token ids in [1, vocab) (0 is left for padding). */
export function randomIds(batch: number, seq: number, vocab: number, seed = 7): BigInt64Array {
  const r = new Rng(seed);
  return BigInt64Array.from({ length: batch * seq }, () => BigInt(1 + Math.floor(r.uniform() * (vocab - 1))));
}
