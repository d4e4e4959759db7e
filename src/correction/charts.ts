/**
 * Charts of corrections as standalone SVG (PNG through evaluation/report/chart.ts's svgToPng): before/after bars of a
 * re-evaluation, and line charts of curves (accuracy against compression for pruning, spectra for DFT-LRP).
 */
import { esc, fmt, textWidth } from '../evaluation/report/svg.js';

const FONT = "font-family=\"'DejaVu Sans', Helvetica, Arial, sans-serif\"";
const COLOURS = ['#4c78a8', '#e45756', '#54a24b', '#f58518', '#b279a2', '#72b7b2'];

function legendWidth(names: readonly string[]): number {
  return names.reduce((x, n) => x + textWidth(n, 11) + 34, 14);
}

/** Legend entries side by side, each as wide as its text. */
function legend(names: readonly string[]): string {
  let x = 14;
  return names
    .map((n, i) => {
      const s = `<rect x="${x}" y="50" width="10" height="10" fill="${COLOURS[i % COLOURS.length]}"/><text x="${x + 14}" y="59" font-size="11" fill="#333">${esc(n)}</text>`;
      x += textWidth(n, 11) + 34;
      return s;
    })
    .join('');
}

export interface BarGroup {
  label: string;
  /** One value per series, in [0, 1]. */
  values: number[];
}

/** Grouped bars on a 0–1 scale: one group per metric, one bar per series (e.g. before / after). */
export function barChart(title: string, subtitle: string, series: readonly string[], groups: readonly BarGroup[]): string {
  const groupW = 44 + 46 * series.length;
  const left = 50;
  const top = 70;
  const plotH = 220;
  const width = left + groupW * groups.length + 30;
  const height = top + plotH + 70;
  const p: string[] = [];
  p.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`);
  p.push('<rect width="100%" height="100%" fill="#fff"/>');
  p.push(`<text x="14" y="24" font-size="16" font-weight="bold" fill="#111">${esc(title)}</text>`);
  p.push(`<text x="14" y="42" font-size="11" fill="#555">${esc(subtitle)}</text>`);
  p.push(legend(series));
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const y = top + plotH - t * plotH;
    p.push(`<line x1="${left}" x2="${width - 20}" y1="${y}" y2="${y}" stroke="#e5e5e5"/><text x="${left - 6}" y="${y + 4}" font-size="10" text-anchor="end" fill="#777">${t}</text>`);
  }
  groups.forEach((g, k) => {
    const x0 = left + k * groupW + 22;
    g.values.forEach((v, i) => {
      const h = Math.max(0, Math.min(1, Number.isFinite(v) ? v : 0)) * plotH;
      const x = x0 + i * 46;
      p.push(`<rect x="${x}" y="${top + plotH - h}" width="40" height="${h}" fill="${COLOURS[i % COLOURS.length]}"><title>${esc(`${g.label} — ${series[i]}: ${fmt(v)}`)}</title></rect>`);
      p.push(`<text x="${x + 20}" y="${top + plotH - h - 4}" font-size="10" text-anchor="middle" fill="#111">${esc(Number.isFinite(v) ? v.toFixed(3) : 'n/a')}</text>`);
    });
    p.push(`<text x="${x0 + (46 * g.values.length) / 2 - 3}" y="${top + plotH + 18}" font-size="11" text-anchor="middle" fill="#111">${esc(g.label)}</text>`);
  });
  p.push('</svg>');
  return p.join('\n') + '\n';
}

export interface Curve {
  name: string;
  /** [x, y] points. */
  points: readonly (readonly [number, number])[];
}

/** Line chart of curves with linear axes over the data's range (or the given ones). */
export function lineChart(title: string, subtitle: string, xLabel: string, yLabel: string, curves: readonly Curve[], range: { x?: [number, number]; y?: [number, number] } = {}): string {
  const all = curves.flatMap((c) => c.points);
  const [x0, x1] = range.x ?? [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [y0, y1] = range.y ?? [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const left = 60;
  const top = 70;
  const plotW = Math.max(480, textWidth(subtitle, 11) - left + 10, legendWidth(curves.map((c) => c.name)) - left);
  const plotH = 260;
  const width = left + plotW + 30;
  const height = top + plotH + 60;
  const sx = (x: number) => left + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (y: number) => top + plotH - ((y - y0) / (y1 - y0 || 1)) * plotH;
  const p: string[] = [];
  p.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`);
  p.push('<rect width="100%" height="100%" fill="#fff"/>');
  p.push(`<text x="14" y="24" font-size="16" font-weight="bold" fill="#111">${esc(title)}</text>`);
  p.push(`<text x="14" y="42" font-size="11" fill="#555">${esc(subtitle)}</text>`);
  p.push(legend(curves.map((c) => c.name)));
  for (let k = 0; k <= 4; k++) {
    const xv = x0 + ((x1 - x0) * k) / 4;
    const yv = y0 + ((y1 - y0) * k) / 4;
    p.push(`<line x1="${sx(xv)}" x2="${sx(xv)}" y1="${top}" y2="${top + plotH}" stroke="#eee"/><text x="${sx(xv)}" y="${top + plotH + 14}" font-size="10" text-anchor="middle" fill="#777">${esc(fmt(xv))}</text>`);
    p.push(`<line x1="${left}" x2="${left + plotW}" y1="${sy(yv)}" y2="${sy(yv)}" stroke="#eee"/><text x="${left - 6}" y="${sy(yv) + 4}" font-size="10" text-anchor="end" fill="#777">${esc(fmt(yv))}</text>`);
  }
  p.push(`<text x="${left + plotW / 2}" y="${top + plotH + 34}" font-size="11" text-anchor="middle" fill="#333">${esc(xLabel)}</text>`);
  p.push(`<text x="14" y="${top + plotH / 2}" font-size="11" fill="#333" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle">${esc(yLabel)}</text>`);
  curves.forEach((c, i) => {
    const col = COLOURS[i % COLOURS.length];
    p.push(`<polyline fill="none" stroke="${col}" stroke-width="2" points="${c.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of c.points) p.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${col}"><title>${esc(`${c.name}: (${fmt(x)}, ${fmt(y)})`)}</title></circle>`);
  });
  p.push('</svg>');
  return p.join('\n') + '\n';
}

/** The before/after chart of a re-evaluation. */
export function reevaluationChart(title: string, subtitle: string, r: { before: Metrics; after: Metrics }, labels: [string, string] = ['before', 'after']): string {
  const groups: BarGroup[] = [
    { label: 'clean acc.', values: [r.before.cleanAccuracy, r.after.cleanAccuracy] },
    { label: 'artefact acc.', values: [r.before.artefactAccuracy, r.after.artefactAccuracy] },
    { label: 'flips to class', values: [r.before.flippedToClass, r.after.flippedToClass] },
    { label: 'relevance share', values: [r.before.relevanceShare, r.after.relevanceShare] },
  ];
  if (r.before.tcav && r.after.tcav) groups.push({ label: 'TCAV', values: [r.before.tcav.score, r.after.tcav.score] });
  return barChart(title, subtitle, labels, groups);
}

interface Metrics {
  cleanAccuracy: number;
  artefactAccuracy: number;
  flippedToClass: number;
  relevanceShare: number;
  tcav?: { score: number };
}
