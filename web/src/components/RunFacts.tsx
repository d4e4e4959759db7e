/**
 * The facts under a server-side explanation of text or multi-input models: explained class, method, parameters,
 * relevance sum, where and how long it ran, and the result as JSON.
 */
import { download } from '../services/heat';
import { fmt, fmtMs } from './Overlay';

export interface RunFactsProps {
  /** What the result was computed from (any JSON-serialisable result record). */
  result: { target: number; method: string; composite?: string | null; params: Record<string, unknown>; relevanceSum: number; provenance: { timingMs: { total: number } } };
  /** File name of the JSON download. */
  fileName: string;
  testId: string;
  /** data-testid of the explained class and of the download button, where tests look for them. */
  classTestId?: string;
  downloadTestId?: string;
}

export function RunFacts({ result: r, fileName, testId, classTestId, downloadTestId }: RunFactsProps) {
  return (
    <dl className="facts" data-testid={testId} data-target={r.target}>
      <div>
        <dt>explained class</dt>
        <dd data-testid={classTestId}>{r.target}</dd>
      </div>
      <div>
        <dt>method</dt>
        <dd>{r.composite ? `lrp · ${r.composite}` : r.method}</dd>
      </div>
      {Object.keys(r.params).length > 0 && (
        <div>
          <dt>parameters</dt>
          <dd className="mono small">{Object.entries(r.params).map(([k, v]) => `${k}=${String(v)}`).join(' · ')}</dd>
        </div>
      )}
      <div>
        <dt>relevance sum</dt>
        <dd>{fmt(r.relevanceSum)}</dd>
      </div>
      <div>
        <dt>computed</dt>
        <dd>on the server · {fmtMs(r.provenance.timingMs.total)}</dd>
      </div>
      <div>
        <dt>download</dt>
        <dd>
          <button type="button" className="link" onClick={() => download(new Blob([JSON.stringify(r, null, 2)], { type: 'application/json' }), fileName)} data-testid={downloadTestId}>
            JSON
          </button>
        </dd>
      </div>
    </dl>
  );
}
