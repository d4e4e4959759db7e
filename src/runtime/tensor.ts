/** A dense float32 tensor as xsys passes it around (row-major). */
export interface Tensor {
  data: Float32Array;
  dims: number[];
}

export function size(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Index of the first NaN/±Inf value, or −1. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}

export function argmaxRows(data: Float32Array, rows: number): number[] {
  const cols = data.length / rows;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[r * cols + c]! > data[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}
