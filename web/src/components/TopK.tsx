/** Top-k predictions; clicking a class explains that class. */
import type { TopK } from '../services/api';

export function TopKList(props: { topk: TopK[]; target?: number; onPick?: (cls: number) => void }) {
  return (
    <ol className="topk" aria-label="top predictions">
      {props.topk.map((t) => (
        <li key={t.class}>
          <button type="button" className={t.class === props.target ? 'topk-row active' : 'topk-row'} onClick={() => props.onPick?.(t.class)} title={`explain class ${t.class}`} data-testid={`class-${t.class}`}>
            <span className="topk-class">{t.class}</span>
            <span className="topk-bar">
              <span style={{ width: `${Math.max(1, t.prob * 100)}%` }} />
            </span>
            <span className="topk-prob" title={`logit ${t.score.toFixed(3)}`}>
              {t.prob >= 0.001 ? `${(t.prob * 100).toFixed(1)}%` : '<0.1%'}
            </span>
          </button>
        </li>
      ))}
    </ol>
  );
}
