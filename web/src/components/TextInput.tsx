/**
 * Text models in the Explain view: a text box tokenised by the service with the tokenizer stored with the model,
 * and the explanation as the tokens coloured by their relevance (same colour map and numeric legend as heatmaps).
 */
import { useState } from 'react';
import { palette } from '../../../src/browser/index.js';
import { parseParams, type RouteState } from '../app/route';
import { useAsync } from '../app/useAsync';
import { api, type ModelSummary, type TextExplainRequest, type TextExplainResult } from '../services/api';
import { parseTarget } from '../services/explain';
import { ErrorBox, Panel, Spinner } from './common';
import { ColorBar } from './Overlay';
import { RunFacts } from './RunFacts';
import { TopKList } from './TopK';

export function TextInput({ model, route, set }: { model: ModelSummary; route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const [draft, setDraft] = useState(route.text ?? '');
  const text = route.text;
  const key = JSON.stringify([model.id, text, route.method, route.composite, route.params, route.target]);
  const run = useAsync<TextExplainResult>(
    text && model.tokenizer
      ? () => {
          const params = parseParams(route.params);
          // Method and composite are URL text; the service validates them (and names the field when they are wrong).
          return api.explainText({ modelId: model.id, text, method: route.method as TextExplainRequest['method'], ...(route.method === 'lrp' ? { composite: route.composite as TextExplainRequest['composite'] } : {}), ...(Object.keys(params).length ? { params } : {}), target: parseTarget(route.target) });
        }
      : undefined,
    key,
  );
  if (!model.tokenizer) {
    return (
      <Panel>
        <p className="lead" data-testid="needs-tokenizer">
          {model.name} takes token ids. Store its tokenizer.json under <a href={`#/models?model=${model.id}`}>Models</a> to explain it with text here.
        </p>
      </Panel>
    );
  }
  const r = run.value;
  const max = r ? Math.max(0, ...r.tokens.map((t) => Math.abs(t.relevance))) : 0;
  const pal = palette(route.cmap);
  const colour = (v: number) => {
    const i = max > 0 ? Math.trunc(Math.min(255, Math.max(0, ((v + max) / (2 * max)) * 255))) : 127;
    return `rgb(${pal[i * 3]}, ${pal[i * 3 + 1]}, ${pal[i * 3 + 2]})`;
  };
  return (
    <div className="result-grid">
      <Panel title="Text" actions={run.loading ? <Spinner label="computing on the server…" /> : undefined}>
        <form
          className="text-form"
          onSubmit={(e) => {
            e.preventDefault();
            set({ text: draft.trim() || undefined });
          }}
        >
          <textarea value={draft} onChange={(e) => setDraft(e.target.value)} rows={3} maxLength={10000} placeholder="a sentence to classify" data-testid="text-input" />
          <button type="submit" className="button primary" data-testid="text-explain" disabled={!draft.trim()}>
            Explain
          </button>
        </form>
        <ErrorBox error={run.error} />
        {r && (
          <>
            <p className="tokens" data-testid="tokens">
              {r.tokens.map((t, i) => (
                <span key={i} className="token" style={{ background: colour(t.relevance) }} title={`${t.token} (id ${t.id}): ${t.relevance.toPrecision(4)}`} data-relevance={t.relevance}>
                  {t.token}
                </span>
              ))}
            </p>
            <ColorBar cmap={route.cmap} scale={max} mode="blend" unit="relevance per token" />
            <RunFacts result={r} fileName={`text-${r.method}-class${r.target}.json`} testId="text-facts" classTestId="explained-class" downloadTestId="download-json" />
          </>
        )}
      </Panel>
      <Panel title="Predictions">{r ? <TopKList topk={r.topk} target={r.target} onPick={(c) => set({ target: String(c) })} /> : <p className="muted">…</p>}</Panel>
    </div>
  );
}
