/**
 * Charts as standalone SVG (and PNG through sharp), written by hand: no browser, no plotting runtime.
 *
 * evaluationChart: a method × metric grid. Metrics have different units and directions, so each cell's colour is
 * its position between the worst and the best method *of that metric* (direction applied), on viridis; the number
 * in the cell is the real mean (± std). The best method per metric carries a star, so "which method wins where"
 * reads at a glance, which a table of raw numbers does not show.
 * metaChart: one bar per metric with its meta-consistency MC̄ (0–1), the model/input MC as markers and the four
 * IAC/IEC components, grouped by category with the category winner starred.
 */
import sharp from 'sharp';
import type { EvaluationResult } from '../evaluate.js';
import type { MetaEvaluationResult } from '../../metrics/meta/run.js';
import { esc, fmt, rgb, textOn, textWidth, viridis } from './svg.js';

const FONT = "font-family=\"'DejaVu Sans', Helvetica, Arial, sans-serif\"";

/** Quality in [0, 1] of each value within its column (1 = best in the metric's direction); NaN stays NaN. */
export function relativeQuality(values: readonly number[], direction: 'higher' | 'lower'): number[] {
  const finite = values.filter(Number.isFinite);
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  return values.map((v) => {
    if (!Number.isFinite(v)) return NaN;
    if (hi === lo) return 1;
    const t = (v - lo) / (hi - lo);
    return direction === 'higher' ? t : 1 - t;
  });
}

export function evaluationChart(result: EvaluationResult): string {
  const methods = result.methods;
  const metrics = result.metrics;
  const cell = (method: string, metric: string) => result.cells.find((c) => c.method === method && c.metric === metric);
  const labelW = Math.max(90, ...methods.map((m) => textWidth(m, 13))) + 24;
  const colW = Math.max(118, ...metrics.map((m) => textWidth(m.name, 12) + 16));
  const cellH = 46;
  const top = 128;
  const width = Math.ceil(labelW + colW * metrics.length + 24);
  const height = top + cellH * methods.length + 70;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`);
  parts.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  parts.push(`<text x="16" y="28" font-size="18" font-weight="bold" fill="#111">Explanation quality: ${methods.length} method${methods.length === 1 ? '' : 's'} × ${metrics.length} metric${metrics.length === 1 ? '' : 's'}</text>`);
  const acc = result.accuracy === undefined ? '' : `, accuracy ${(100 * result.accuracy).toFixed(1)} %`;
  parts.push(`<text x="16" y="48" font-size="12" fill="#555">${esc(`${basename(result.model)} on ${basename(result.data.source)} (${result.data.samples} samples${acc}), target: ${result.settings.target}, seed ${result.settings.seed}`)}</text>`);
  parts.push(`<text x="16" y="66" font-size="11" fill="#777">Colour: rank within each metric (worst → best); number: mean ± std over samples; ★ best per metric.</text>`);

  metrics.forEach((m, j) => {
    const x = labelW + j * colW + colW / 2;
    parts.push(`<text x="${x}" y="${top - 36}" font-size="12" font-weight="bold" text-anchor="middle" fill="#111">${esc(m.name)}</text>`);
    parts.push(`<text x="${x}" y="${top - 21}" font-size="10" text-anchor="middle" fill="#666">${esc(m.category)}</text>`);
    parts.push(`<text x="${x}" y="${top - 8}" font-size="10" text-anchor="middle" fill="#666">${esc(m.direction === 'higher' ? '↑ higher is better' : '↓ lower is better')}</text>`);
    const means = methods.map((meth) => cell(meth, m.name)?.mean ?? NaN);
    const quality = relativeQuality(means, m.direction);
    const best = Math.max(...quality.filter(Number.isFinite));
    methods.forEach((meth, i) => {
      const c = cell(meth, m.name);
      const y = top + i * cellH;
      const q = quality[i]!;
      const fill = Number.isFinite(q) ? viridis(q) : [220, 220, 220];
      const ink = textOn(fill);
      parts.push(`<rect x="${labelW + j * colW + 1}" y="${y + 1}" width="${colW - 2}" height="${cellH - 2}" rx="3" fill="${rgb(fill)}"><title>${esc(`${meth} — ${m.name}: ${c ? `${fmt(c.mean)} ± ${fmt(c.std)} (${c.valid} of ${c.scores.length} samples defined)` : 'not computed'}`)}</title></rect>`);
      const star = Number.isFinite(q) && q === best ? '★ ' : '';
      parts.push(`<text x="${x}" y="${y + 21}" font-size="14" font-weight="bold" text-anchor="middle" fill="${ink}">${esc(star + fmt(c?.mean ?? NaN))}</text>`);
      const nan = c && c.valid < c.scores.length ? ` · ${c.scores.length - c.valid} n/a` : '';
      parts.push(`<text x="${x}" y="${y + 36}" font-size="10" text-anchor="middle" fill="${ink}">${esc(c ? `± ${fmt(c.std)}${nan}` : '')}</text>`);
    });
  });
  methods.forEach((meth, i) => {
    parts.push(`<text x="${labelW - 12}" y="${top + i * cellH + cellH / 2 + 5}" font-size="13" text-anchor="end" fill="#111">${esc(meth)}</text>`);
  });
  // Legend: the colour scale.
  const ly = top + methods.length * cellH + 22;
  const lw = 180;
  parts.push(`<defs><linearGradient id="q" x1="0" x2="1" y1="0" y2="0">${Array.from({ length: 11 }, (_, k) => `<stop offset="${k / 10}" stop-color="${rgb(viridis(k / 10))}"/>`).join('')}</linearGradient></defs>`);
  parts.push(`<text x="${labelW}" y="${ly + 11}" font-size="11" fill="#555" text-anchor="end" dx="-8">worst</text>`);
  parts.push(`<rect x="${labelW}" y="${ly}" width="${lw}" height="14" fill="url(#q)" rx="2"/>`);
  parts.push(`<text x="${labelW + lw + 8}" y="${ly + 11}" font-size="11" fill="#555">best (per metric)</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function metaChart(results: readonly MetaEvaluationResult[], subtitle = ''): string {
  const rows = [...results].sort((a, b) => a.category.localeCompare(b.category) || b.mc - a.mc);
  const labelW = Math.max(120, ...rows.map((r) => textWidth(r.metric, 13))) + 110;
  const barW = 360;
  const compW = 360;
  const rowH = 34;
  const top = 96;
  const width = labelW + barW + compW + 30;
  const height = top + rows.length * rowH + 60;
  const winners = new Map<string, string>();
  for (const r of rows) {
    const cur = winners.get(r.category);
    const curMc = rows.find((x) => x.metric === cur)?.mc ?? -Infinity;
    if (!cur || r.mc > curMc) winners.set(r.category, r.metric);
  }
  const p: string[] = [];
  p.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`);
  p.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  p.push(`<text x="16" y="28" font-size="18" font-weight="bold" fill="#111">Meta-consistency (MetaQuantus MC̄) per metric</text>`);
  if (subtitle) p.push(`<text x="16" y="48" font-size="12" fill="#555">${esc(subtitle)}</text>`);
  p.push(`<text x="16" y="66" font-size="11" fill="#777">Bar: MC̄ = mean of model- and input-test MC (1 = ideal). ○ model MC, ◇ input MC. ★ best in its category.</text>`);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const x = labelW + t * barW;
    p.push(`<line x1="${x}" x2="${x}" y1="${top - 6}" y2="${top + rows.length * rowH}" stroke="#ddd"/>`);
    p.push(`<text x="${x}" y="${top - 10}" font-size="10" text-anchor="middle" fill="#777">${t}</text>`);
  }
  p.push(`<text x="${labelW + barW + 14}" y="${top - 10}" font-size="10" fill="#777">MC̄</text>`);
  p.push(`<text x="${labelW + barW + 70}" y="${top - 10}" font-size="10" fill="#777">IAC_NR IAC_AR IEC_NR IEC_AR: model | input</text>`);
  let lastCat = '';
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    if (r.category !== lastCat) {
      p.push(`<text x="16" y="${y + rowH / 2 + 5}" font-size="11" fill="#888" font-style="italic">${esc(r.category)}</text>`);
      if (i > 0) p.push(`<line x1="12" x2="${width - 12}" y1="${y}" y2="${y}" stroke="#eee"/>`);
      lastCat = r.category;
    }
    const win = winners.get(r.category) === r.metric;
    p.push(`<text x="${labelW - 12}" y="${y + rowH / 2 + 5}" font-size="13" text-anchor="end" fill="#111"${win ? ' font-weight="bold"' : ''}>${esc((win ? '★ ' : '') + r.metric)}</text>`);
    const mc = Number.isFinite(r.mc) ? r.mc : 0;
    const colour = viridis(0.15 + 0.7 * mc);
    p.push(`<rect x="${labelW}" y="${y + 7}" width="${Math.max(1, mc * barW)}" height="${rowH - 14}" rx="2" fill="${rgb(colour)}"><title>${esc(`${r.metric}: MC̄ ${fmt(r.mc)}`)}</title></rect>`);
    p.push(`<text x="${labelW + barW + 14}" y="${y + rowH / 2 + 5}" font-size="13" font-weight="bold" fill="#111">${esc(Number.isFinite(r.mc) ? r.mc.toFixed(3) : 'n/a')}</text>`);
    const fm = r.families.model;
    const fi = r.families.input;
    if (fm) p.push(`<circle cx="${labelW + fm.MC * barW}" cy="${y + rowH / 2}" r="4" fill="#fff" stroke="#111" stroke-width="1.5"><title>model MC ${fmt(fm.MC)}</title></circle>`);
    if (fi) p.push(`<rect x="${labelW + fi.MC * barW - 4}" y="${y + rowH / 2 - 4}" width="8" height="8" transform="rotate(45 ${labelW + fi.MC * barW} ${y + rowH / 2})" fill="#fff" stroke="#111" stroke-width="1.5"><title>input MC ${fmt(fi.MC)}</title></rect>`);
    const comp = (f?: { IAC_NR: number; IAC_AR: number; IEC_NR: number; IEC_AR: number }) => (f ? [f.IAC_NR, f.IAC_AR, f.IEC_NR, f.IEC_AR].map((v) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a')).join(' ') : '—');
    p.push(`<text x="${labelW + barW + 70}" y="${y + rowH / 2 + 4}" font-size="10" fill="#333" font-family="monospace">${esc(`${comp(fm)} | ${comp(fi)}`)}</text>`);
  });
  p.push('</svg>');
  return p.join('\n') + '\n';
}

function basename(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** Rasterises an SVG to PNG with sharp (librsvg) at `density` dpi: 72 is 1 px per SVG unit, the default 144 is 2×. */
export async function svgToPng(svg: string, density = 144): Promise<Uint8Array> {
  return new Uint8Array(await sharp(Buffer.from(svg), { density }).png().toBuffer());
}
