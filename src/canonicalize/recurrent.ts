import type { NodeProto } from 'onnx-buf';
import { attrFloat, attrInt, attrString, getAttr } from '../onnx/attributes.js';
import { asFloat32, constNumbers } from '../onnx/tensor.js';
import { Emitter } from '../ir/emitter.js';
import type { Graph } from '../ir/graph.js';
import type { ValueInfo } from '../ir/shapes.js';
import { directions, markGate } from '../ops/recurrent.js';
import type { Canonicalizer, CanonReport } from './types.js';

/**
 * Unrolls `LSTM`, `GRU` and `RNN` nodes over their sequence length (known at compile time) into the ops of their
 * equations (ONNX operator spec: every direction, `sequence_lens`, initial states, peepholes, `clip`, `input_forget`,
 * `linear_before_reset`, `layout`, `activations` with their alphas and betas). The function is unchanged; what it buys:
 *  - the gradient: every op of the unrolled cell has a VJP;
 *  - LRP with the rules of Arras et al. (2017): the input projection x·Wᵀ + b of all time steps is one dense layer and
 *    each recurrent projection h·Rᵀ another (the composite's linear rule), a gate pre-activation is their sum (the
 *    Norm rule splits its relevance between x and h in proportion to their contributions, i.e. the linear rule over
 *    the concatenated [x, h]), and each product gate ⊙ signal is marked as a gate (`markGate`), whose rule gives all
 *    relevance to the signal and none to the gate ("signal-take-all").
 * A zero initial state (absent or an all-zero constant) contributes no recurrent term at the first step, so it needs
 * no nodes. Inputs beyond a batch entry's sequence length are masked with `Where`, as ONNX Runtime does: the state is
 * carried unchanged and the output is zero there.
 */
export const recurrent: Canonicalizer = {
  name: 'recurrent',
  apply(g: Graph, info: Map<string, ValueInfo>) {
    const reports: CanonReport[] = [];
    for (const n of [...g.nodes]) {
      if (!['LSTM', 'GRU', 'RNN'].includes(n.opType) || (n.domain !== '' && n.domain !== 'ai.onnx')) continue;
      const blocker = unrollBlocker(g, info, n);
      // A node that cannot be unrolled stays (the compiler refuses it); the report says why, for `xsys inspect`.
      const detail = blocker ? `not unrolled: ${blocker}` : unroll(g, info, n);
      reports.push({ canonicalizer: 'recurrent', node: n.name || n.output[0]!, detail });
    }
    if (reports.some((r) => !r.detail.startsWith('not unrolled'))) {
      g.sortTopologically();
      g.reindex();
      g.pruneInitializers();
    }
    return reports;
  },
};

/** Why a recurrent node cannot be unrolled, or undefined when it can (the compiler then reports it as unsupported). */
export function unrollBlocker(g: Graph, info: Map<string, ValueInfo>, n: NodeProto): string | undefined {
  const layout = attrInt(n, 'layout', 0);
  const seq = info.get(n.input[0]!)?.shape?.[layout === 0 ? 0 : 1];
  if (typeof seq !== 'number' || seq < 1) return `its sequence length is not known at compile time (input '${n.input[0]}' has shape ${JSON.stringify(info.get(n.input[0]!)?.shape ?? 'unknown')})`;
  for (const k of [1, 2]) if (!g.constant(n.input[k] ?? '')) return `its ${k === 1 ? 'input weights W' : 'recurrent weights R'} are not a constant`;
  for (const k of [3, 7]) if (n.input[k] && !g.constant(n.input[k]!)) return `its ${k === 3 ? 'bias B' : 'peepholes P'} are not a constant`;
  if (!attrInt(n, 'hidden_size', 0) && !g.constant(n.input[2]!)) return 'hidden_size is unknown';
  for (const a of activationList(n)) if (!ACTIVATIONS.has(a.toLowerCase())) return `activation '${a}' is not an ONNX RNN activation`;
  return undefined;
}

const GATES = { LSTM: 4, GRU: 3, RNN: 1 } as const;
const DEFAULT_ACTS = { LSTM: ['Sigmoid', 'Tanh', 'Tanh'], GRU: ['Sigmoid', 'Tanh'], RNN: ['Tanh'] } as const;
/** ONNX RNN activations and how many of activation_alpha / activation_beta each takes, with their defaults. */
const ACTIVATIONS = new Map<string, { alpha?: number; beta?: number }>([
  ['sigmoid', {}], ['tanh', {}], ['relu', {}], ['softsign', {}], ['softplus', {}],
  ['leakyrelu', { alpha: 0.01 }], ['thresholdedrelu', { alpha: 1 }], ['elu', { alpha: 1 }],
  ['hardsigmoid', { alpha: 0.2, beta: 0.5 }], ['affine', { alpha: 1, beta: 0 }], ['scaledtanh', { alpha: 1, beta: 1 }],
]);

function activationList(n: NodeProto): string[] {
  const kind = n.opType as keyof typeof GATES;
  const a = getAttr(n, 'activations');
  const list = a && a.strings.length ? a.strings.map((s) => new TextDecoder().decode(s)) : [];
  const per = DEFAULT_ACTS[kind].length;
  const d = directions(n);
  if (!list.length) return Array.from({ length: d }, () => [...DEFAULT_ACTS[kind]]).flat();
  // One direction's list given for a bidirectional node: both directions use it (ONNX Runtime does the same).
  return list.length === per && d === 2 ? [...list, ...list] : list;
}

type Act = (x: string) => string;

/** The activation functions of the node, alphas and betas consumed in order by those that take them. */
function activations(em: Emitter, n: NodeProto): Act[] {
  const alphas = getAttr(n, 'activation_alpha')?.floats ?? [];
  const betas = getAttr(n, 'activation_beta')?.floats ?? [];
  let ia = 0;
  let ib = 0;
  return activationList(n).map((name) => {
    const key = name.toLowerCase();
    const spec = ACTIVATIONS.get(key)!;
    const alpha = spec.alpha === undefined ? 0 : ia < alphas.length ? alphas[ia++]! : spec.alpha;
    const beta = spec.beta === undefined ? 0 : ib < betas.length ? betas[ib++]! : spec.beta;
    switch (key) {
      case 'sigmoid': return (x) => em.op('Sigmoid', [x]);
      case 'tanh': return (x) => em.op('Tanh', [x]);
      case 'relu': return (x) => em.op('Relu', [x]);
      case 'softsign': return (x) => em.op('Softsign', [x]);
      case 'softplus': return (x) => em.op('Softplus', [x]);
      case 'leakyrelu': return (x) => em.op('LeakyRelu', [x], { alpha: { float: alpha } });
      case 'thresholdedrelu': return (x) => em.op('ThresholdedRelu', [x], { alpha: { float: alpha } });
      case 'elu': return (x) => em.op('Elu', [x], { alpha: { float: alpha } });
      case 'hardsigmoid': return (x) => em.op('HardSigmoid', [x], { alpha: { float: alpha }, beta: { float: beta } });
      case 'affine': return (x) => em.add(em.mul(x, em.scalar(alpha)), em.scalar(beta));
      default: return (x) => em.mul(em.op('Tanh', [em.mul(x, em.scalar(beta))]), em.scalar(alpha)); // scaledtanh
    }
  });
}

/** Rows [r0, r1) of direction d of a constant [D, rows, cols], transposed to [cols, r1 − r0]. */
function transposedBlock(data: Float32Array, dims: readonly number[], d: number, r0: number, r1: number): Float32Array {
  const [, rows, cols] = dims as [number, number, number];
  const out = new Float32Array(cols * (r1 - r0));
  const base = d * rows * cols;
  for (let r = r0; r < r1; r++) for (let c = 0; c < cols; c++) out[c * (r1 - r0) + (r - r0)] = data[base + r * cols + c]!;
  return out;
}

function unroll(g: Graph, info: Map<string, ValueInfo>, n: NodeProto): string {
  const kind = n.opType as keyof typeof GATES;
  const G = GATES[kind];
  const em = new Emitter(g, n.name || `${kind.toLowerCase()}`);
  const layout = attrInt(n, 'layout', 0);
  const T = info.get(n.input[0]!)!.shape![layout === 0 ? 0 : 1] as number;
  const D = directions(n);
  const reverseOnly = attrString(n, 'direction', 'forward') === 'reverse';
  const W = g.constant(n.input[1]!)!;
  const R = g.constant(n.input[2]!)!;
  const H = attrInt(n, 'hidden_size', 0) || R.dims[2]!;
  const Wd = asFloat32(W);
  const Rd = asFloat32(R);
  const Bd = n.input[3] ? asFloat32(g.constant(n.input[3])!) : new Float32Array(D * 2 * G * H);
  const Pd = kind === 'LSTM' && n.input[7] ? asFloat32(g.constant(n.input[7])!) : undefined;
  const clip = getAttr(n, 'clip') ? attrFloat(n, 'clip', 0) : undefined;
  const inputForget = kind === 'LSTM' && attrInt(n, 'input_forget', 0) !== 0;
  const lbr = kind === 'GRU' && attrInt(n, 'linear_before_reset', 0) !== 0;
  const acts = activations(em, n);
  const perDir = DEFAULT_ACTS[kind].length;

  const toTimeMajor = (t: string) => (layout === 0 ? t : em.op('Transpose', [t], { perm: { ints: [1, 0, 2] } }));
  const X = toTimeMajor(n.input[0]!);
  // Initial states per direction ([B, H]); an absent or all-zero constant state is no state at all.
  const initial = (k: number): (string | undefined)[] => {
    const t = n.input[k];
    const c = t ? g.constant(t) : undefined;
    if (!t || (c && constNumbers(c).every((v) => v === 0))) return Array.from({ length: D }, () => undefined);
    return perDirection(toTimeMajor(t));
  };
  const perDirection = (t: string): string[] => {
    if (D === 1) return [em.op('Squeeze', [t, em.ints([0])])];
    return em.opN('Split', [t, em.ints([1, 1])], { axis: { int: 0 } }, 2).map((p) => em.op('Squeeze', [p, em.ints([0])]));
  };
  const h0 = initial(5);
  const c0 = kind === 'LSTM' ? initial(6) : [];
  // Steps beyond a batch entry's length are masked; a constant length vector equal to T everywhere needs no mask.
  const lensName = n.input[4];
  const lensConst = lensName ? g.constant(lensName) : undefined;
  const masked = !!lensName && !(lensConst && constNumbers(lensConst).every((v) => v === T));
  const lens = masked ? em.op('Cast', [lensName!], { to: { int: 7 } }) : undefined;
  const maskAt = (t: number) => em.op('Unsqueeze', [em.op('Less', [em.ints([t]), lens!]), em.ints([1])], {}, `mask_${t}`);
  const keep = (mask: string | undefined, next: string, prev: string | undefined) => (mask ? em.op('Where', [mask, next, prev ?? em.scalar(0)]) : next);
  const gate = (gateT: string, signal: string) => {
    const out = em.mul(gateT, signal);
    markGate(em.created[em.created.length - 1]!, 0);
    return out;
  };
  const clipped = (x: string) => (clip === undefined ? x : em.op('Clip', [x, em.scalar(-clip), em.scalar(clip)]));
  const one = em.scalar(1);

  const ys: string[][] = [];
  const hs: string[] = [];
  const cs: string[] = [];
  for (let d = 0; d < D; d++) {
    const reverse = reverseOnly || d === 1;
    const [f, gAct, hAct] = [acts[d * perDir]!, acts[d * perDir + 1]!, acts[d * perDir + 2]!];
    const wb = Bd.subarray(d * 2 * G * H, d * 2 * G * H + G * H);
    const rb = Bd.subarray(d * 2 * G * H + G * H, (d + 1) * 2 * G * H);
    // x·Wᵀ + b for all time steps at once: one dense layer. GRU's Rb_h stays with the recurrent term under
    // linear_before_reset (it is multiplied by the reset gate there).
    const bias = Float32Array.from(wb, (v, j) => (lbr && j >= 2 * H ? v : v + rb[j]!));
    const wT = em.floats(`W${d}T`, transposedBlock(Wd, W.dims, d, 0, G * H), [W.dims[2]!, G * H]);
    const XW = em.add(em.op('MatMul', [X, wT], {}, `xw${d}`), em.floats(`b${d}`, bias, [G * H]));
    const steps = T === 1 ? [em.op('Squeeze', [XW, em.ints([0])])] : em.opN('Split', [XW, em.ints(new Array<number>(T).fill(1))], { axis: { int: 0 } }, T).map((p) => em.op('Squeeze', [p, em.ints([0])]));
    // GRU: z and r share one recurrent product; h's comes after the reset gate.
    const rT = kind === 'GRU'
      ? em.floats(`R${d}T_zr`, transposedBlock(Rd, R.dims, d, 0, 2 * H), [H, 2 * H])
      : em.floats(`R${d}T`, transposedBlock(Rd, R.dims, d, 0, G * H), [H, G * H]);
    const rTh = kind === 'GRU' ? em.floats(`R${d}T_h`, transposedBlock(Rd, R.dims, d, 2 * H, 3 * H), [H, H]) : undefined;
    const rbh = lbr ? em.floats(`Rb${d}_h`, rb.slice(2 * H), [H]) : undefined;
    const peep = Pd ? [0, 1, 2].map((k) => em.floats(`P${d}_${'iof'[k]}`, Pd.slice((d * 3 + k) * H, (d * 3 + k + 1) * H), [H])) : undefined;
    let h = h0[d];
    let c = c0[d];
    const y: string[] = new Array<string>(T);
    for (let s = 0; s < T; s++) {
      const t = reverse ? T - 1 - s : s;
      const xw = steps[t]!;
      const mask = masked ? maskAt(t) : undefined;
      if (kind === 'LSTM') {
        const pre = h ? em.add(xw, em.op('MatMul', [h, rT])) : xw;
        let [pi, po, pf, pc] = em.opN('Split', [pre, em.ints([H, H, H, H])], { axis: { int: 1 } }, 4) as [string, string, string, string];
        if (peep && c) {
          pi = em.add(pi, em.mul(c, peep[0]!));
          pf = em.add(pf, em.mul(c, peep[2]!));
        }
        const i = f(clipped(pi));
        const fg = inputForget ? em.sub(one, i) : f(clipped(pf));
        const cand = gAct(clipped(pc));
        const cNew = c ? em.add(gate(fg, c), gate(i, cand)) : gate(i, cand);
        if (peep) po = em.add(po, em.mul(cNew, peep[1]!));
        const o = f(clipped(po));
        const hNew = gate(o, hAct(cNew));
        y[t] = mask ? keep(mask, hNew, undefined) : hNew;
        h = keep(mask, hNew, h);
        c = keep(mask, cNew, c);
      } else if (kind === 'GRU') {
        const [xzr, xh] = em.opN('Split', [xw, em.ints([2 * H, H])], { axis: { int: 1 } }, 2) as [string, string];
        const prezr = h ? em.add(xzr, em.op('MatMul', [h, rT])) : xzr;
        const [pz, pr] = em.opN('Split', [prezr, em.ints([H, H])], { axis: { int: 1 } }, 2) as [string, string];
        const z = f(clipped(pz));
        const r = f(clipped(pr));
        let ph = xh;
        if (lbr) ph = em.add(xh, gate(r, h ? em.add(em.op('MatMul', [h, rTh!]), rbh!) : rbh!));
        else if (h) ph = em.add(xh, em.op('MatMul', [gate(r, h), rTh!]));
        const cand = gAct(clipped(ph));
        const update = gate(em.sub(one, z), cand);
        const hNew = h ? em.add(update, gate(z, h)) : update;
        y[t] = mask ? keep(mask, hNew, undefined) : hNew;
        h = keep(mask, hNew, h);
      } else {
        const pre = h ? em.add(xw, em.op('MatMul', [h, rT])) : xw;
        const hNew = f(clipped(pre));
        y[t] = mask ? keep(mask, hNew, undefined) : hNew;
        h = keep(mask, hNew, h);
      }
    }
    ys.push(y);
    hs.push(h!);
    if (c) cs.push(c);
  }

  // Outputs in the node's layout, under the node's own output names.
  const unsq = (t: string, axes: number[]) => em.op('Unsqueeze', [t, em.ints(axes)]);
  const cat = (parts: string[], axis: number) => (parts.length === 1 ? parts[0]! : em.op('Concat', parts, { axis: { int: axis } }));
  const finish = (value: string, name: string | undefined, perm: number[]) => {
    if (!name) return;
    // Each output is made by a fresh node (Unsqueeze, Concat or Transpose) that nothing else reads: it takes the name.
    const out = layout === 0 ? value : em.op('Transpose', [value], { perm: { ints: perm } });
    const p = em.created.find((m) => m.output.includes(out))!;
    p.output[0] = name;
  };
  const Y = cat(ys.map((y) => cat(y.map((t) => unsq(t, [0, 1])), 0)), 1);
  finish(Y, n.output[0], [2, 0, 1, 3]);
  finish(cat(hs.map((t) => unsq(t, [0])), 0), n.output[1], [1, 0, 2]);
  if (kind === 'LSTM') finish(cat(cs.map((t) => unsq(t, [0])), 0), n.output[2], [1, 0, 2]);
  g.removeNodes(new Set([n]));
  const dir = D === 2 ? 'bidirectional' : reverseOnly ? 'reverse' : 'forward';
  return `${kind} (${dir}, hidden ${H}) unrolled over ${T} time steps${masked ? ', masked by sequence_lens' : ''}: ${em.created.length} nodes`;
}
