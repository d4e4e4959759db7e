/** Small dependency-free SVG charts: bars by category, and a series of values by index. */
import { fmt } from './Overlay';

export function BarChart(props: { title: string; data: { label: string; value: number }[]; unit?: string }) {
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
              {fmt(d.value)}
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
  const h = props.height ?? 140;
  const pad = 28;
  const vals = props.values;
  if (vals.length === 0) return null;
  const lo = Math.min(0, ...vals);
  const hi = Math.max(0, ...vals);
  const span = hi - lo || 1;
  const x = (i: number) => pad + (vals.length === 1 ? (w - 2 * pad) / 2 : (i / (vals.length - 1)) * (w - 2 * pad));
  const y = (v: number) => h - pad / 2 - ((v - lo) / span) * (h - pad);
  const bw = Math.max(2, Math.min(16, (w - 2 * pad) / vals.length - 2));
  const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
  return (
    <figure className="chart">
      <figcaption>
        {props.title} <span className="muted">· mean {fmt(mean)}{props.unit ?? ''} · n = {vals.length}</span>
      </figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={props.title}>
        <line x1={pad} x2={w - pad} y1={y(0)} y2={y(0)} className="axis" />
        {vals.map((v, i) => (
          <rect key={i} x={x(i) - bw / 2} y={Math.min(y(v), y(0))} width={bw} height={Math.max(1, Math.abs(y(v) - y(0)))} className={v < 0 ? 'neg' : 'pos'}>
            <title>
              #{i}: {fmt(v)}
              {props.unit ?? ''}
            </title>
          </rect>
        ))}
        <text x={4} y={y(hi) + 4} className="tick">{fmt(hi)}</text>
        {lo < 0 && <text x={4} y={y(lo)} className="tick">{fmt(lo)}</text>}
      </svg>
    </figure>
  );
}
