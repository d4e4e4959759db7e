/** Checks of model inputs that do not depend on which ONNX Runtime (Node or web) will run them. */
import type { ModelProto } from 'onnx-buf';
import { inferShapes } from '../ops/shapes.js';
import { type Dim } from '../ir/shapes.js';
import { Graph } from '../ir/graph.js';
import { InputDataError } from '../errors.js';
import { firstNonFinite, type Tensor } from './tensor.js';

/** The declared shape of each float input of a model (symbolic dims as strings). */
export function inputShapes(model: ModelProto): Record<string, Dim[] | undefined> {
  const g = new Graph(model);
  const info = inferShapes(g);
  const out: Record<string, Dim[] | undefined> = {};
  for (const i of g.inputs) out[i.name] = info.get(i.name)?.shape;
  return out;
}

/** Rejects inputs that cannot be right: wrong rank or static dims, NaN/Inf values. */
export function validateInput(name: string, t: Tensor, expected: Dim[] | undefined): void {
  if (t.data.length !== t.dims.reduce((a, b) => a * b, 1)) {
    throw new InputDataError(`input '${name}': ${t.data.length} values do not fill shape [${t.dims.join(', ')}]`);
  }
  if (expected) {
    const ok = expected.length === t.dims.length && expected.every((d, i) => typeof d !== 'number' || d === t.dims[i]);
    if (!ok) {
      throw new InputDataError(`input '${name}' has shape [${t.dims.join(', ')}], but the model expects [${expected.map((d) => d ?? '?').join(', ')}]`, 'resize the input (for images: --size H,W, --grayscale) or check the channel count');
    }
  }
  const bad = firstNonFinite(t.data);
  if (bad >= 0) throw new InputDataError(`input '${name}' contains a non-finite value (${t.data[bad]}) at flat index ${bad}`, 'replace NaN/Inf values before explaining');
}
