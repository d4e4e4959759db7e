import { readFileSync } from 'node:fs';
import { planCompilation } from '../src/compiler/plan.ts';
const bytes = new Uint8Array(readFileSync('/tmp/vad/package/dist/silero_vad_v5.onnx'));
const p = planCompilation(bytes, { specialize: { shapes: { input: [1, 512], state: [2, 1, 128] }, values: { sr: [16000] } }, requireExplainable: false });
console.log(p.canon.reports.filter((r) => !['remove-identity'].includes(r.canonicalizer)).map((r) => r.canonicalizer + ': ' + r.node.slice(-40) + ' ' + r.detail.slice(0, 140)).join('\n'));
const l = p.g.nodes.find((n) => n.opType === 'LSTM');
if (l) for (const i of l.input) console.log(i, JSON.stringify(p.info.get(i)), p.g.producer(i)?.opType, !!p.g.constant(i));
for (const n of p.g.nodes) if (/stft|encoder\/0|decoder\/(Shape|Gather|Equal)$/.test(n.name) && n.opType !== 'Constant') console.log(n.opType, n.name.slice(-30), n.output.map((o) => JSON.stringify(p.info.get(o)?.shape)).join(' '), n.input.slice(1).map((i) => (p.g.constant(i) ? 'C' : '?')).join(''));
