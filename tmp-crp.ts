import { readFileSync } from 'node:fs';
import { CrpExplainer } from './src/concepts/crp.js';
import { readNpy } from './src/io/npy-file.js';
import { toFloat32 } from './src/io/npy.js';
const base = '../shared/crp-conformance/';
const man = JSON.parse(readFileSync(base + 'manifest.json', 'utf8'));
for (const c of man.cases) {
  const ex = await CrpExplainer.load(base + c.model);
  const x = await readNpy(base + c.input);
  const conds = Object.entries(c.conditions).map(([tensor, channels]) => ({ tensor, channels: channels as number[] }));
  const r = await ex.explain({ data: toFloat32(x), dims: x.shape }, [conds], { target: c.target, composite: c.composite });
  const it = r.items[0]!;
  const hm = it.heatmap; const [ , C, H, W] = hm.dims;
  const got = new Float32Array(H*W); for (let ch=0;ch<C;ch++) for (let i=0;i<H*W;i++) got[i]+=hm.data[ch*H*W+i];
  const exp = await readNpy(base + c.expected_heatmap);
  let md=0, mr=0; for (let i=0;i<got.length;i++){ md=Math.max(md,Math.abs(got[i]-Number(exp.data[i]))); mr=Math.max(mr,Math.abs(Number(exp.data[i])));}
  let msg = `${c.id} heatmap rel ${(md/mr).toExponential(2)}`;
  for (const [t, f] of Object.entries(c.expected_channel_relevance)) {
    const e = await readNpy(base + f); const g = it.channelRelevance[t];
    let d=0,m=0; for (let i=0;i<g.length;i++){d=Math.max(d,Math.abs(g[i]-Number(e.data[i])));m=Math.max(m,Math.abs(Number(e.data[i])));}
    msg += ` ch[${t}] ${(d/m).toExponential(2)}`;
  }
  console.log(msg);
}
