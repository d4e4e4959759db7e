/** An input image with its heatmap over it; colour map, mode and opacity change the rendering only, never the numbers. */
import { useEffect, useMemo, useRef } from 'react';
import { palette } from '../../../src/browser/index.js';
import { paintHeat, pixelRelevance, type OverlayMode } from '../services/heat';
import type { Tensor } from '../services/tensor';

export function Overlay(props: { imageUrl?: string; attribution?: Tensor; cmap: string; opacity: number; mode?: OverlayMode; scale?: number; size?: number; label?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const mode = props.mode ?? 'alpha';
  const rel = useMemo(() => (props.attribution ? pixelRelevance(props.attribution) : undefined), [props.attribution]);
  useEffect(() => {
    const c = canvas.current;
    if (!c || !rel) return;
    c.width = rel.width;
    c.height = rel.height;
    c.getContext('2d')!.putImageData(paintHeat(rel, props.cmap, props.imageUrl ? mode : 'blend', props.scale), 0, 0);
  }, [rel, props.cmap, mode, props.scale, props.imageUrl]);
  const size = props.size ?? 360;
  return (
    <figure className={mode === 'alpha' ? 'overlay gray' : 'overlay'} style={{ width: size, maxWidth: '100%', aspectRatio: rel ? `${rel.width} / ${rel.height}` : '1' }} aria-label={props.label ?? 'heatmap'}>
      {props.imageUrl ? <img src={props.imageUrl} alt="input" draggable={false} /> : <div className="overlay-empty" />}
      {rel && <canvas ref={canvas} data-testid="heatmap" style={{ opacity: props.imageUrl ? props.opacity : 1 }} />}
    </figure>
  );
}

/**
 * The colour map as a bar with numbers: the relevance at its ends and quarter points (symmetric around zero, as
 * rendered). `scale` is the value at the ends; `shared` says whether other panels use the same one.
 */
export function ColorBar(props: { cmap: string; attribution?: Tensor; scale?: number; mode?: OverlayMode; note?: string; unit?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const pal = palette(props.cmap);
    const img = new ImageData(256, 1);
    for (let i = 0; i < 256; i++) {
      const a = props.mode === 'alpha' ? Math.round((Math.abs(i - 127.5) / 127.5) * 255) : 255;
      img.data.set([pal[i * 3]!, pal[i * 3 + 1]!, pal[i * 3 + 2]!, a], i * 4);
    }
    c.getContext('2d')!.putImageData(img, 0, 0);
  }, [props.cmap, props.mode]);
  const m = props.scale ?? (props.attribution ? pixelRelevance(props.attribution).maxAbs : 0);
  const ticks = m ? [-m, -m / 2, 0, m / 2, m] : [];
  return (
    <div className="colorbar" data-testid="colorbar" data-scale={m}>
      <canvas ref={canvas} width={256} height={1} className={props.mode === 'alpha' ? 'checker' : ''} />
      <div className="colorbar-labels">
        {ticks.length ? ticks.map((t, i) => <span key={i}>{t === 0 ? '0' : `${t > 0 ? '+' : '−'}${fmt(Math.abs(t))}`}</span>) : [<span key="n">negative</span>, <span key="z">0</span>, <span key="p">positive</span>]}
      </div>
      <div className="colorbar-note muted small">
        {props.unit ?? 'relevance per pixel (sum over channels)'}{props.mode === 'alpha' ? ' · opacity ∝ |R|: zero is transparent' : ''}
        {props.note ? ` · ${props.note}` : ''}
      </div>
    </div>
  );
}

/** A duration for people: milliseconds below a second, seconds above. */
export function fmtMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function fmt(v: number, digits = 3): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : v.toPrecision(digits);
}
