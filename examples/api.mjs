// Library usage: explain two MNIST digits with LRP and the gradient, then write a portable explainer.
// Run from the repository root after `npm ci`:  node examples/api.mjs
import { writeFile } from 'node:fs/promises';
import { explain, compileExplainer, readModel, readNpy, toFloat32, ModelExplainer } from 'xsys';

const model = await ModelExplainer.load('examples/mnist/mnist-cnn.onnx');
const samples = await readNpy('examples/mnist/samples.npy'); // float32 [8, 1, 28, 28], already normalised
const input = { data: toFloat32(samples).slice(0, 2 * 784), dims: [2, 1, 28, 28] };

const lrp = await explain(model, input, { method: 'lrp', composite: 'epsilon-plus-flat', target: 'pred' });
const grad = await explain(model, input, { method: 'gradient', target: [7, 2] });
const sum = (t, i) => t.data.slice(i * 784, (i + 1) * 784).reduce((a, b) => a + b, 0);
console.log('targets', lrp.targets, 'LRP relevance sums', [sum(lrp.attribution, 0), sum(lrp.attribution, 1)].map((v) => v.toFixed(3)));
console.log('gradient attribution shape', grad.attribution.dims);

// One ONNX graph that any ONNX Runtime can execute: inputs `input` + `xsys_seed`, outputs logits + attribution.
const compiled = compileExplainer(await readModel('examples/mnist/mnist-cnn.onnx'), { method: 'lrp', composite: 'epsilon-gamma-box', params: { low: -0.4242, high: 2.8215 } });
await writeFile('out/mnist-explainer.onnx', compiled.bytes());
console.log('explainer outputs', compiled.outputNames, `compiled in ${compiled.compileMs.toFixed(1)} ms`);
