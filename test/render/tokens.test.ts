import { describe, expect, it } from 'vitest';
import { displayToken, relevanceColor, tokensToAnsi, tokensToHtml } from '../../src/render/tokens.js';

describe('token rendering', () => {
  it('colours: full red at +max, full blue at −max, white at 0, linear in between', () => {
    expect(relevanceColor(2, 2)).toEqual([255, 0, 0]);
    expect(relevanceColor(-2, 2)).toEqual([0, 0, 255]);
    expect(relevanceColor(0, 2)).toEqual([255, 255, 255]);
    expect(relevanceColor(1, 2)).toEqual([255, 128, 128]);
    expect(relevanceColor(5, 0)).toEqual([255, 255, 255]);
  });

  it('HTML: one span per token, escaped text, values in the title', () => {
    const html = tokensToHtml([{ token: '<b>', id: 7, relevance: 1 }, { token: 'Ġworld', id: 8, relevance: -0.5 }], { title: 'T & U' });
    expect(html).toContain('<title>T &amp; U</title>');
    expect(html).toContain('style="background:rgb(255,0,0)" title="#0 id 7: 1.000e+0">&lt;b&gt;</span>');
    expect(html).toContain('style="background:rgb(128,128,255)" title="#1 id 8: -5.000e-1"> world</span>');
  });

  it('ANSI: 24-bit background per token', () => {
    expect(tokensToAnsi([{ token: 'a', id: 1, relevance: -1 }])).toBe('\x1b[48;2;0;0;255m\x1b[38;2;0;0;0ma\x1b[0m');
    expect(displayToken('▁hi Ċ')).toBe(' hi \\n');
  });
});
