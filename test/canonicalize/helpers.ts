import type { ModelProto } from 'onnx-buf';
import { expect } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import { cloneModel } from '../../src/onnx/model.js';
import { runModel, relErr } from '../helpers/onnx.js';

/** A Graph over a copy of the model (Graph owns and rewrites its proto). */
export const graphOf = (m: ModelProto) => new Graph(cloneModel(m));

/** Runs both models on the same input and expects every output to agree within `tol` (relative to its max). */
export async function expectSameFunction(a: ModelProto, b: ModelProto, x: Float32Array, dims: number[], tol = 1e-5): Promise<void> {
  const ya = await runModel(a, { x: { data: x, dims } });
  const yb = await runModel(b, { x: { data: x, dims } });
  expect(Object.keys(yb).sort()).toEqual(Object.keys(ya).sort());
  for (const k of Object.keys(ya)) {
    expect(yb[k]!.dims).toEqual(ya[k]!.dims);
    expect(relErr(yb[k]!.data, ya[k]!.data), `output ${k}`).toBeLessThanOrEqual(tol);
  }
}
