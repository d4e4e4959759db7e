/** Small dependency-free SVG charts: bars by category, and a series of values by index. */
import { fmt } from './Overlay';

export function BarChart(props: { title: string; data: { label: string; value: number }[]; unit?: string; integer?: boolean }) {
  const max = Math.max(1e-12, ...props.data.map((d) => Math.abs(d.value)));
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <ul className="bars">
        {props.data.map((d) => (
          <li key={d.label}>
            <span className="bar-label mono">{d.label}</span>
            <span className="bar">
              <span className={d.value < 0 ? 'neg' : ''} style={{ width: `${(Math.abs(d.value) / max) * 100}%` }} />
            </span>
            <span className="bar-value">
              {props.integer ? Math.round(d.value) : fmt(d.value)}
              {props.unit ?? ''}
            </span>
          </li>
        ))}
      </ul>
    </figure>
  );
}

export function SeriesChart(props: { title: string; values: number[]; unit?: string; height?: number }) {
  const w = 560;
  const h = props.height ?? 150;
  // Room on the left for the value ticks, at the bottom for the sample index.
  const left = 52;
  const right = 12;
  const top = 10;
  const bottom = 20;
  const vals = props.values;
  if (vals.length === 0) return null;
  const lo = Math.min(0, ...vals);
  const hi = Math.max(0, ...vals);
  const span = hi - lo || 1;
  const slot = (w - left - right) / vals.length;
  const x = (i: number) => left + slot * (i + 0.5);
  const y = (v: number) => top + (1 - (v - lo) / span) * (h - top - bottom);
  const bw = Math.max(1, Math.min(28, slot * 0.7));
  const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
  return (
    <figure className="chart">
      <figcaption>
        {props.title} <span className="muted">· mean {fmt(mean)}{props.unit ?? ''} · n = {vals.length}</span>
      </figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={props.title}>
        <line x1={left} x2={w - right} y1={y(0)} y2={y(0)} className="axis" />
        <line x1={left} x2={left} y1={top} y2={h - bottom} className="axis" />
        {vals.map((v, i) => (
          <rect key={i} x={x(i) - bw / 2} y={Math.min(y(v), y(0))} width={bw} height={Math.max(1, Math.abs(y(v) - y(0)))} className={v < 0 ? 'neg' : 'pos'}>
            <title>
              #{i}: {fmt(v)}
              {props.unit ?? ''}
            </title>
          </rect>
        ))}
        <text x={left - 6} y={y(hi) + 4} className="tick" textAnchor="end">{fmt(hi)}</text>
        {lo < 0 && hi > 0 && y(0) - y(hi) > 12 && y(lo) - y(0) > 12 && <text x={left - 6} y={y(0) + 4} className="tick" textAnchor="end">0</text>}
        {lo < 0 && <text x={left - 6} y={y(lo) + 4} className="tick" textAnchor="end">{fmt(lo)}</text>}
        <text x={x(0)} y={h - 4} className="tick" textAnchor="middle">#0</text>
        {vals.length > 1 && <text x={x(vals.length - 1)} y={h - 4} className="tick" textAnchor="middle">#{vals.length - 1}</text>}
      </svg>
    </figure>
  );
}
