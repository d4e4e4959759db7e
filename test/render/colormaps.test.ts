import { describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '../../src/errors.js';
import { COLORMAP_NAMES, colormap, isColormapName, palette } from '../../src/render/colormaps.js';

const entry = (pal: Uint8Array, i: number): number[] => Array.from(pal.subarray(i * 3, i * 3 + 3));

describe('COLORMAP_NAMES', () => {
  it("lists Zennit's built-in maps", () => {
    expect([...COLORMAP_NAMES]).toEqual([
      'gray', 'wred', 'wblue', 'hot', 'cold', 'coldnhot', 'bwr', 'france', 'seismic', 'coolio', 'coleus',
    ]);
    expect(isColormapName('bwr')).toBe(true);
    expect(isColormapName('toString')).toBe(false);
  });
});

describe('colormap', () => {
  // Endpoints (t = 0, t = 1) of each map as defined in Zennit's zennit/image.py CMAPS.
  const endpoints: Record<string, [number[], number[]]> = {
    gray: [[0, 0, 0], [255, 255, 255]],
    wred: [[255, 255, 255], [255, 0, 0]],
    wblue: [[255, 255, 255], [0, 0, 255]],
    hot: [[0, 0, 0], [255, 255, 255]],
    cold: [[0, 0, 0], [0, 255, 255]],
    coldnhot: [[0, 255, 255], [255, 255, 255]],
    bwr: [[0, 0, 255], [255, 0, 0]],
    france: [[0x00, 0x55, 0xa4], [0xef, 0x41, 0x35]],
    seismic: [[0, 0, 0xd0], [0xd0, 0, 0]],
    coolio: [[0, 0xd0, 0xd0], [0xd0, 0, 0xd0]],
    coleus: [[0, 0xd0, 0], [0xd0, 0, 0xd0]],
  };
  for (const [name, [lo, hi]] of Object.entries(endpoints)) {
    it(`${name}: endpoints match Zennit`, () => {
      const f = colormap(name);
      expect(f(0)).toEqual(lo);
      expect(f(1)).toEqual(hi);
      // clipping outside [0, 1]
      expect(f(-3)).toEqual(lo);
      expect(f(7)).toEqual(hi);
    });
  }

  it('places the centre colours of the diverging maps at index 0x80', () => {
    expect(colormap('bwr')(128 / 255)).toEqual([255, 255, 255]);
    expect(colormap('coldnhot')(128 / 255)).toEqual([0, 0, 0]);
    expect(colormap('seismic')(128 / 255)).toEqual([0xd0, 0xd0, 0xd0]);
    expect(colormap('france')(128 / 255)).toEqual([255, 255, 255]);
  });

  it('spaces unindexed colours evenly like Zennit', () => {
    // hot '000,f00,ff0,fff': red at 85, yellow at 170
    expect(colormap('hot')(85 / 255)).toEqual([255, 0, 0]);
    expect(colormap('hot')(170 / 255)).toEqual([255, 255, 0]);
    // cold '000,00f,0ff': blue at int(127.5) = 127
    expect(colormap('cold')(127 / 255)).toEqual([0, 0, 255]);
    // coldnhot '0ff,00f,80:000,f00,ff0,fff': blue at 64, red at 170, yellow at 212
    expect(colormap('coldnhot')(64 / 255)).toEqual([0, 0, 255]);
    expect(colormap('coldnhot')(170 / 255)).toEqual([255, 0, 0]);
    expect(colormap('coldnhot')(212 / 255)).toEqual([255, 255, 0]);
  });

  it('interpolates linearly and truncates to bytes', () => {
    // bwr at t = 0.5: x = 127.5, 127.5/128 of the way from blue to white: 255·127.5/128 = 254.0039 → 254
    expect(colormap('bwr')(0.5)).toEqual([254, 254, 255]);
    // coldnhot at t = 0.5: 63.5/64 from blue to black: blue 255/128 = 1.99 → 1
    expect(colormap('coldnhot')(0.5)).toEqual([0, 0, 1]);
    // wred at t = 0.25: x = 63.75, g = b = 255·(1 − 63.75/255) = 191.25 → 191
    expect(colormap('wred')(0.25)).toEqual([255, 191, 191]);
  });

  it('rejects unknown names with InvalidArgumentError listing the valid ones', () => {
    expect(() => colormap('viridis')).toThrow(InvalidArgumentError);
    try {
      colormap('viridis');
    } catch (err) {
      const e = err as InvalidArgumentError;
      expect(e.argument).toBe('--cmap');
      expect(e.message).toContain("unknown colour map 'viridis'");
      for (const name of COLORMAP_NAMES) expect(e.hint).toContain(name);
    }
  });
});

describe('palette', () => {
  it('gray palette is the identity', () => {
    const pal = palette('gray');
    expect(pal.length).toBe(768);
    for (let i = 0; i < 256; i++) expect(entry(pal, i)).toEqual([i, i, i]);
  });

  it('bwr palette: ends, centre and neighbours of the centre', () => {
    const pal = palette('bwr');
    expect(entry(pal, 0)).toEqual([0, 0, 255]);
    expect(entry(pal, 255)).toEqual([255, 0, 0]);
    expect(entry(pal, 128)).toEqual([255, 255, 255]); // float noise (127.99999…) must not give 254
    expect(entry(pal, 127)).toEqual([253, 253, 255]); // 255·127/128 = 253.0078
    expect(entry(pal, 129)).toEqual([255, 252, 252]); // 255·(1 − 1/127) = 252.99 → 252
  });

  it('level > 1 saturates sooner, level < 1 narrows the range', () => {
    const strong = palette('bwr', 2);
    expect(entry(strong, 0)).toEqual([0, 0, 255]);
    expect(entry(strong, 40)).toEqual([0, 0, 255]);
    expect(entry(strong, 200)).toEqual([255, 0, 0]);
    // entry 128 samples x = 128.5 (the doubled offset of 1/255 from the centre): 255·(1 − 0.5/127) = 253.996 → 253
    expect(entry(strong, 128)).toEqual([255, 253, 253]);
    const weak = palette('bwr', 0.5);
    // entry 0 samples t = 0.25: x = 63.75, 255·63.75/128 = 127.0019 → 127
    expect(entry(weak, 0)).toEqual([127, 127, 255]);
    expect(() => palette('bwr', 0)).toThrow(InvalidArgumentError);
    expect(() => palette('bwr', Number.NaN)).toThrow(/--level/);
  });
});
