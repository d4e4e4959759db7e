/** An input image with its heatmap over it; colour map and opacity change the rendering only, never the numbers. */
import { useEffect, useMemo, useRef } from 'react';
import { attributionToHeatmap, palette } from '../../../src/browser/index.js';
import type { Tensor } from '../services/tensor';

function maxAbs(t: Tensor): number {
  let m = 0;
  for (const v of t.data) m = Math.max(m, Math.abs(v));
  return m;
}

export function Overlay(props: { imageUrl?: string; attribution?: Tensor; cmap: string; opacity: number; size?: number; label?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const heat = useMemo(() => {
    if (!props.attribution) return undefined;
    try {
      return attributionToHeatmap(props.attribution.data, props.attribution.dims, { cmap: props.cmap });
    } catch {
      return undefined;
    }
  }, [props.attribution, props.cmap]);
  useEffect(() => {
    const c = canvas.current;
    if (!c || !heat) return;
    c.width = heat.width;
    c.height = heat.height;
    const img = new ImageData(heat.width, heat.height);
    for (let p = 0; p < heat.width * heat.height; p++) {
      img.data[p * 4] = heat.data[p * 3]!;
      img.data[p * 4 + 1] = heat.data[p * 3 + 1]!;
      img.data[p * 4 + 2] = heat.data[p * 3 + 2]!;
      img.data[p * 4 + 3] = 255;
    }
    c.getContext('2d')!.putImageData(img, 0, 0);
  }, [heat]);
  const size = props.size ?? 360;
  return (
    <figure className="overlay" style={{ width: size, height: size }} aria-label={props.label ?? 'heatmap'}>
      {props.imageUrl ? <img src={props.imageUrl} alt="input" draggable={false} /> : <div className="overlay-empty" />}
      {heat && <canvas ref={canvas} data-testid="heatmap" style={{ opacity: props.opacity }} />}
    </figure>
  );
}

/** The colour map as a bar, labelled with the attribution's range (symmetric around zero, as rendered). */
export function ColorBar(props: { cmap: string; attribution?: Tensor }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const pal = palette(props.cmap);
    const img = new ImageData(256, 1);
    for (let i = 0; i < 256; i++) {
      img.data.set([pal[i * 3]!, pal[i * 3 + 1]!, pal[i * 3 + 2]!, 255], i * 4);
    }
    c.getContext('2d')!.putImageData(img, 0, 0);
  }, [props.cmap]);
  const m = props.attribution ? maxAbs(props.attribution) : 0;
  return (
    <div className="colorbar">
      <canvas ref={canvas} width={256} height={1} />
      <div className="colorbar-labels">
        <span>{m ? `−${fmt(m)}` : 'negative'}</span>
        <span>0</span>
        <span>{m ? `+${fmt(m)}` : 'positive'}</span>
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
