/**
 * View state lives in the URL (hash route + query), so a link reproduces what one sees: `#/explain?model=…&sample=
 * mnist-samples/3&method=lrp&composite=epsilon-plus-flat&target=pred&cmap=bwr&opacity=0.6&device=local`.
 * A hash route works behind any static server, with no fallback route needed on the service.
 */
import { useCallback, useEffect, useState } from 'react';

export const VIEWS = ['models', 'explain', 'compare', 'concepts', 'strategies', 'lens', 'correction', 'history', 'eval', 'workers'] as const;
export type View = (typeof VIEWS)[number];
export type Device = 'local' | 'server';

export interface RouteState {
  view: View;
  model?: string;
  /** 'dataset/index' of a dataset sample, or 'input/<sha256>' of an input stored by the service. */
  sample?: string;
  method: string;
  composite: string;
  /** 'pred' or a class index. */
  target: string;
  cmap: string;
  opacity: number;
  /**
   * How the heatmap sits on the input: 'alpha' (the input in grey under the colour map, opacity ∝ |R|, so zero shows
   * the input and never paints white over it) or 'blend' (the whole heatmap at one opacity).
   */
  overlay: 'alpha' | 'blend';
  /** compare: one colour scale for all panels ('shared') or each its own ('independent'). */
  scale: 'shared' | 'independent';
  device: Device;
  /** Method and composite parameters the user set, 'steps:8,baseline:0' (the rest take their declared defaults). */
  params?: string;
  /** Text models: the text explained (tokenised by the service with the model's tokenizer). */
  text?: string;
  /** Input preparation for uploaded images: 'invert', 'crop' (to the drawing's bounding box), comma-separated. */
  prep?: string;
  /** compare: comma-separated method specs, 'lrp:epsilon-plus-flat,gradient'. */
  methods?: string;
  /** history: the selected result; eval: the selected job. */
  result?: string;
  job?: string;
}

export const DEFAULTS: RouteState = { view: 'explain', method: 'lrp', composite: 'epsilon-plus-flat', target: 'pred', cmap: 'bwr', opacity: 0.7, device: 'server', overlay: 'alpha', scale: 'independent' };

export function parseRoute(hash: string): RouteState {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const q = new URLSearchParams(query);
  const view = (VIEWS as readonly string[]).includes(path) ? (path as View) : DEFAULTS.view;
  const opacity = Number(q.get('opacity'));
  const get = (k: string) => q.get(k) ?? undefined;
  return {
    view,
    model: get('model'),
    sample: get('sample'),
    method: get('method') ?? DEFAULTS.method,
    composite: get('composite') ?? DEFAULTS.composite,
    target: get('target') ?? DEFAULTS.target,
    cmap: get('cmap') ?? DEFAULTS.cmap,
    opacity: q.has('opacity') && Number.isFinite(opacity) ? Math.min(1, Math.max(0, opacity)) : DEFAULTS.opacity,
    device: q.get('device') === 'local' ? 'local' : 'server',
    overlay: q.get('overlay') === 'blend' ? 'blend' : 'alpha',
    scale: q.get('scale') === 'shared' ? 'shared' : 'independent',
    params: get('params'),
    prep: get('prep'),
    text: get('text'),
    methods: get('methods'),
    result: get('result'),
    job: get('job'),
  };
}

const ORDER: (keyof RouteState)[] = ['model', 'sample', 'method', 'composite', 'params', 'prep', 'text', 'target', 'cmap', 'opacity', 'overlay', 'device', 'methods', 'scale', 'result', 'job'];

export function formatRoute(s: RouteState): string {
  const q = new URLSearchParams();
  for (const k of ORDER) {
    const v = s[k];
    // Display defaults stay out of links (short URLs); everything else is spelled out.
    if ((k === 'overlay' || k === 'scale') && v === DEFAULTS[k]) continue;
    if (v !== undefined && v !== '') q.set(k, String(v));
  }
  // Keep ':' , '/' and ',' readable in shared links.
  return `#/${s.view}?${q.toString().replace(/%3A/g, ':').replace(/%2F/g, '/').replace(/%2C/g, ',')}`;
}

/** The current route and a setter that merges a partial state into the URL (push: a new history entry). */
export function useRoute(): [RouteState, (patch: Partial<RouteState>, mode?: 'push' | 'replace') => void] {
  const [state, setState] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setState(parseRoute(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  const update = useCallback((patch: Partial<RouteState>, mode: 'push' | 'replace' = 'push') => {
    const next = formatRoute({ ...parseRoute(window.location.hash), ...patch });
    if (next === window.location.hash) return;
    if (mode === 'replace') window.history.replaceState(null, '', next);
    else window.history.pushState(null, '', next);
    setState(parseRoute(next));
  }, []);
  return [state, update];
}

/** 'steps:8,baseline:0' → { steps: 8, baseline: 0 }; text values (a layer name) stay strings. */
export function parseParams(text: string | undefined): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const part of (text ?? '').split(',')) {
    const i = part.indexOf(':');
    if (i <= 0) continue;
    const k = part.slice(0, i);
    const v = decodeURIComponent(part.slice(i + 1));
    out[k] = v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return out;
}

export function formatParams(p: Record<string, number | string>): string | undefined {
  const parts = Object.entries(p).map(([k, v]) => `${k}:${encodeURIComponent(String(v))}`);
  return parts.length ? parts.join(',') : undefined;
}
