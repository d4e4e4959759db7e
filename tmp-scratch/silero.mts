import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { compileExplainer } from '/work/wt/models/src/compiler/compile.ts';
import { namedComposite } from '/work/wt/models/src/composites/named.ts';
const bytes = new Uint8Array(readFileSync('/tmp/vad/package/dist/silero_vad_v5.onnx'));
const N = 512;
const x = Float32Array.from({ length: N }, (_, i) => 0.3 * Math.sin(i / 5) + 0.05 * Math.sin(i * 1.3));
const state = Float32Array.from({ length: 256 }, (_, i) => 0.1 * Math.cos(i));
for (const method of ['gradient', 'lrp'] as const) {
  const t0 = Date.now();
  const c = compileExplainer(bytes, { method, composite: method === 'lrp' ? namedComposite('epsilon-plus-flat') : undefined, specialize: { shapes: { input: [1, N], state: [2, 1, 128] }, values: { sr: [16000] } } });
  console.log(method, 'compiled', Date.now() - t0, 'ms', c.reports.filter((r) => !['remove-identity', 'fold-constants'].includes(r.canonicalizer)).map((r) => r.canonicalizer + ': ' + r.detail.slice(0, 100)).join('\n'));
  const s = await ort.InferenceSession.create(c.bytes());
  const out = await s.run({ input: new ort.Tensor('float32', x, [1, N]), state: new ort.Tensor('float32', state, [2, 1, 128]), sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []), [c.seedName]: new ort.Tensor('float32', Float32Array.of(1), [1, 1]) });
  const ref = await (await ort.InferenceSession.create(bytes)).run({ input: new ort.Tensor('float32', x, [1, N]), state: new ort.Tensor('float32', state, [2, 1, 128]), sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []) });
  console.log('score', out[c.scoresName]!.data, 'ref', ref.output!.data);
  for (const [k, v] of Object.entries(c.attributionNames)) { const a = out[v]!.data as Float32Array; let s2 = 0, fin = true; for (const q of a) { s2 += q; if (!Number.isFinite(q)) fin = false; } console.log(k, a.length, 'sum', s2, 'finite', fin); }
}
