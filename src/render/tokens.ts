/** Per-token relevance as coloured text: HTML for reports, 24-bit ANSI colours for terminals. */

export interface TokenRelevance {
  token: string;
  id: number;
  relevance: number;
}

/**
 * Red for positive, blue for negative relevance, white for none; intensity is |R| / max |R| over the sequence (the
 * bwr map of the image heatmaps). Returns [r, g, b] in 0–255.
 */
export function relevanceColor(r: number, maxAbs: number): [number, number, number] {
  const t = maxAbs > 0 ? Math.max(-1, Math.min(1, r / maxAbs)) : 0;
  const fade = Math.round(255 * (1 - Math.abs(t)));
  return t >= 0 ? [255, fade, fade] : [fade, fade, 255];
}

function maxAbs(tokens: readonly TokenRelevance[]): number {
  return tokens.reduce((m, t) => Math.max(m, Math.abs(t.relevance)), 0);
}

/** Shows a vocabulary token readably: byte-level BPE's Ġ/Ċ as space/newline, WordPiece's ## kept. */
export function displayToken(token: string): string {
  return token.replace(/Ġ/g, ' ').replace(/Ċ/g, '\\n').replace(/▁/g, ' ');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function tokensToHtml(tokens: readonly TokenRelevance[], options: { title?: string; caption?: string } = {}): string {
  const m = maxAbs(tokens);
  const spans = tokens
    .map((t, i) => {
      const [r, g, b] = relevanceColor(t.relevance, m);
      return `<span class="tok" style="background:rgb(${r},${g},${b})" title="#${i} id ${t.id}: ${t.relevance.toExponential(3)}">${escapeHtml(displayToken(t.token))}</span>`;
    })
    .join('');
  const title = escapeHtml(options.title ?? 'xsys token relevance');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}.tok{font-family:ui-monospace,monospace;padding:0.15em 0.2em;margin:0 1px;border-radius:3px;white-space:pre;line-height:2}.legend span{padding:0.2em 0.6em}</style>
</head><body>
<h1>${title}</h1>
${options.caption ? `<p>${escapeHtml(options.caption)}</p>` : ''}
<p>${spans}</p>
<p class="legend"><span style="background:rgb(0,0,255);color:#fff">negative</span><span style="background:#fff">0</span><span style="background:rgb(255,0,0);color:#fff">positive</span> (max |R| = ${m.toExponential(3)}; hover a token for its value)</p>
</body></html>
`;
}

/** The tokens with 24-bit background colours, for a terminal. */
export function tokensToAnsi(tokens: readonly TokenRelevance[]): string {
  const m = maxAbs(tokens);
  return tokens
    .map((t) => {
      const [r, g, b] = relevanceColor(t.relevance, m);
      return `\x1b[48;2;${r};${g};${b}m\x1b[38;2;0;0;0m${displayToken(t.token)}\x1b[0m`;
    })
    .join(' ');
}
