import type { NodeProto } from 'onnx-buf';
import { attrInt, getAttr } from '../onnx/attributes.js';
import { asFloat32, floatTensor } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import type { Canonicalizer, CanonReport } from './types.js';

/**
 * Folds an inference-mode BatchNormalization into the Conv or Gemm that feeds it (and nothing else), as Zennit's
 * MergeBatchNorm canonizer does: W' = W·γ/√(σ²+ε) per output channel, b' = (b − μ)·γ/√(σ²+ε) + β.
 */
export const foldBatchNorm: Canonicalizer = {
  name: 'fold-batchnorm',
  apply(g: Graph) {
    const reports: CanonReport[] = [];
    const removed = new Set<NodeProto>();
    for (const bn of g.nodes) {
      if (bn.opType !== 'BatchNormalization' || bn.output.filter(Boolean).length > 1) continue;
      const prev = g.producer(bn.input[0]!);
      if (!prev || (prev.opType !== 'Conv' && prev.opType !== 'Gemm')) continue;
      if (g.consumers(prev.output[0]!).length !== 1 || g.isGraphOutput(prev.output[0]!)) continue;
      const w = g.constant(prev.input[1]!);
      const b = prev.input[2] ? g.constant(prev.input[2]) : undefined;
      if (!w || (prev.input[2] && !b)) continue;
      const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((k) => g.constant(bn.input[k]!));
      if (!gamma || !beta || !mean || !variance) continue;
      if (prev.opType === 'Gemm' && (attrInt(prev, 'transA', 0) !== 0 || (getAttr(prev, 'alpha')?.f ?? 1) !== 1 || (getAttr(prev, 'beta')?.f ?? 1) !== 1)) continue;
      const eps = getAttr(bn, 'epsilon')?.f ?? 1e-5;
      const ga = asFloat32(gamma);
      const be = asFloat32(beta);
      const mu = asFloat32(mean);
      const va = asFloat32(variance);
      const outCh = ga.length;
      const scale = Float32Array.from(ga, (v, i) => v / Math.sqrt(va[i]! + eps));
      // Decoded constants are read-only (they may share the model's memory): scale into a new array, in one pass.
      const w0 = asFloat32(w);
      const wd = new Float32Array(w0.length);
      const transB = prev.opType === 'Gemm' && attrInt(prev, 'transB', 0) === 1;
      if (prev.opType === 'Conv' || transB) {
        // Output channel is the leading axis: W[o, ...].
        const per = wd.length / outCh;
        for (let o = 0; o < outCh; o++) {
          const so = scale[o]!;
          for (let j = o * per; j < (o + 1) * per; j++) wd[j] = w0[j]! * so;
        }
      } else {
        // Gemm without transB: W[k, o].
        for (let j = 0; j < wd.length; j++) wd[j] = w0[j]! * scale[j % outCh]!;
      }
      const bd = new Float32Array(outCh);
      const bOld = b ? asFloat32(b) : undefined;
      if (bOld && bOld.length !== outCh && bOld.length !== 1) continue;
      for (let o = 0; o < outCh; o++) bd[o] = ((bOld ? bOld[bOld.length === 1 ? 0 : o]! : 0) - mu[o]!) * scale[o]! + be[o]!;
      const wName = g.addInitializer(floatTensor(g.fresh(`${prev.input[1]}_bnfolded`), wd, w.dims, false));
      const bName = g.addInitializer(floatTensor(g.fresh(`${prev.name || 'layer'}_bias_bnfolded`), bd, [outCh]));
      prev.input[1] = wName;
      prev.input[2] = bName;
      // The layer now produces the BatchNorm's output tensor directly, so downstream names stay valid.
      prev.output[0] = bn.output[0]!;
      removed.add(bn);
      reports.push({ canonicalizer: 'fold-batchnorm', node: bn.name, detail: `folded into ${prev.opType} '${prev.name}'` });
    }
    if (removed.size) {
      g.removeNodes(removed);
      g.pruneInitializers();
    }
    return reports;
  },
};
