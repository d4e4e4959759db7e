/** Small models whose CRP relevance is computable by hand (shared by the CRP tests). */
import type { Composite } from '../../src/composites/index.js';
import { buildModel, floatTensor, makeNode, valueInfo } from './onnx.js';

/** The epsilon rule everywhere (ε tiny): LRP-0 on dense layers, so relevance is computable by hand. */
export const EPS: Composite = { name: 'eps', entries: [{ match: { kind: 'dense' }, rule: 'epsilon', params: { epsilon: 1e-9 } }] };

/** x [N, 2] → h = x·W1 [N, 2] → y = h·W2 [N, 3]; with x = (1, 2): h = (5, 1), y = (8, 1, 9). */
export function handModel() {
  return buildModel({
    nodes: [makeNode('Gemm', ['x', 'W1'], ['h'], 'fc1'), makeNode('Gemm', ['h', 'W2'], ['y'], 'fc2')],
    initializers: [floatTensor('W1', Float32Array.of(1, -1, 2, 1), [2, 2]), floatTensor('W2', Float32Array.of(1, 0, 2, 3, 1, -1), [2, 3])],
    inputs: [valueInfo('x', ['N', 2])],
    outputs: [valueInfo('y', ['N', 3])],
  });
}

