/**
 * Zennit-compatible colour maps.
 *
 * Heatmaps from xsys should look exactly like the ones researchers already get from Zennit, so the colour maps carry
 * Zennit's names and colour stops and are evaluated with Zennit's semantics: piecewise-linear interpolation between
 * stops placed on a 0–255 index axis, and 8-bit palettes quantised by truncation.
 *
 * Zennit writes its maps in a small colour-map language ('00f,80:fff,f00' = blue at 0, white at 0x80, red at the
 * end; colours without an index are spaced evenly between their indexed neighbours with the position truncated to an
 * integer). The table below holds the stops that those definitions resolve to, written out so they can be read and
 * checked directly.
 */
import { InvalidArgumentError } from '../errors.js';

/** A colour stop: position on the 0–255 index axis and its RGB colour. */
type Stop = readonly [index: number, r: number, g: number, b: number];

/** Stops of Zennit's built-in maps, in Zennit's order. Source definitions in the comments. */
const STOPS = {
  // '000,fff': black to white
  gray: [[0, 0x00, 0x00, 0x00], [255, 0xff, 0xff, 0xff]],
  // 'fff,f00': white to red
  wred: [[0, 0xff, 0xff, 0xff], [255, 0xff, 0x00, 0x00]],
  // 'fff,00f': white to blue
  wblue: [[0, 0xff, 0xff, 0xff], [255, 0x00, 0x00, 0xff]],
  // '000,f00,ff0,fff': black, red, yellow, white; the middle two spaced evenly at int(255/3), int(2*255/3)
  hot: [[0, 0x00, 0x00, 0x00], [85, 0xff, 0x00, 0x00], [170, 0xff, 0xff, 0x00], [255, 0xff, 0xff, 0xff]],
  // '000,00f,0ff': black, blue, cyan; blue at int(127.5)
  cold: [[0, 0x00, 0x00, 0x00], [127, 0x00, 0x00, 0xff], [255, 0x00, 0xff, 0xff]],
  // '0ff,00f,80:000,f00,ff0,fff': reversed cold, then hot, centred on black at 0x80
  coldnhot: [
    [0, 0x00, 0xff, 0xff],
    [64, 0x00, 0x00, 0xff],
    [128, 0x00, 0x00, 0x00],
    [170, 0xff, 0x00, 0x00],
    [212, 0xff, 0xff, 0x00],
    [255, 0xff, 0xff, 0xff],
  ],
  // '00f,80:fff,f00': blue, white at 0x80, red
  bwr: [[0, 0x00, 0x00, 0xff], [128, 0xff, 0xff, 0xff], [255, 0xff, 0x00, 0x00]],
  // '0055a4,80:fff,ef4135': the blue, white and red of the French flag
  france: [[0, 0x00, 0x55, 0xa4], [128, 0xff, 0xff, 0xff], [255, 0xef, 0x41, 0x35]],
  // '0000d0,80:d0d0d0,d00000': blue, grey, red at brightness 0xd0
  seismic: [[0, 0x00, 0x00, 0xd0], [128, 0xd0, 0xd0, 0xd0], [255, 0xd0, 0x00, 0x00]],
  // '00d0d0,80:d0d0d0,d000d0': cyan, grey, magenta at brightness 0xd0
  coolio: [[0, 0x00, 0xd0, 0xd0], [128, 0xd0, 0xd0, 0xd0], [255, 0xd0, 0x00, 0xd0]],
  // '00d000,80:d0d0d0,d000d0': green, grey, magenta at brightness 0xd0
  coleus: [[0, 0x00, 0xd0, 0x00], [128, 0xd0, 0xd0, 0xd0], [255, 0xd0, 0x00, 0xd0]],
} as const satisfies Record<string, readonly Stop[]>;

/** Names of the built-in colour maps (Zennit's names). */
export type ColormapName = keyof typeof STOPS;

/** All valid colour map names, e.g. for CLI help and error messages. */
export const COLORMAP_NAMES: readonly ColormapName[] = Object.keys(STOPS) as ColormapName[];

/** Whether `name` is a built-in colour map. */
export function isColormapName(name: string): name is ColormapName {
  return Object.prototype.hasOwnProperty.call(STOPS, name);
}

function stopsOf(name: string): readonly Stop[] {
  if (!isColormapName(name)) {
    throw new InvalidArgumentError(
      '--cmap',
      `unknown colour map '${name}'`,
      `valid colour maps: ${COLORMAP_NAMES.join(', ')}`,
    );
  }
  return STOPS[name];
}

/**
 * Colour at position x ∈ [0, 255] as unquantised 0–255 floats. The last stop is implicitly repeated at 256, which
 * makes x = 255 land exactly on the last colour, as in Zennit.
 */
function evaluate(stops: readonly Stop[], x: number): [number, number, number] {
  let i = 0;
  while (i + 1 < stops.length && stops[i + 1]![0] <= x) i++;
  const lo = stops[i]!;
  const hi = stops[i + 1] ?? ([256, lo[1], lo[2], lo[3]] as const);
  const alpha = (x - lo[0]) / (hi[0] - lo[0]);
  return [
    lo[1] * (1 - alpha) + hi[1] * alpha,
    lo[2] * (1 - alpha) + hi[2] * alpha,
    lo[3] * (1 - alpha) + hi[3] * alpha,
  ];
}

/**
 * Quantise a 0–255 float channel to a byte like Zennit: it computes colours as fractions (÷255), scales back by 255,
 * rounds to 12 decimals to undo floating-point noise and then truncates.
 */
function quantise(v: number): number {
  const rounded = Math.round(((v / 255) * 255) * 1e12) / 1e12;
  return Math.min(255, Math.max(0, Math.floor(rounded)));
}

/**
 * The colour map `name` as a function from t ∈ [0, 1] (clipped) to an RGB triple of integers 0–255.
 * Throws InvalidArgumentError('--cmap') listing the valid names if `name` is unknown.
 */
export function colormap(name: string): (t: number) => [number, number, number] {
  const stops = stopsOf(name);
  return (t: number) => {
    const x = Math.min(255, Math.max(0, (Number.isNaN(t) ? 0.5 : t) * 255));
    const [r, g, b] = evaluate(stops, x);
    return [quantise(r), quantise(g), quantise(b)];
  };
}

/**
 * Zennit's 256-entry palette for `name`, as 768 bytes (RGB for entry 0, entry 1, …). Entry i shows the normalised
 * value i/255. `level` (default 1) is Zennit's contrast knob: entry i samples the map at ((2i/255 − 1)·level + 1)/2,
 * clipped to [0, 1], so level > 1 saturates towards both ends sooner and level < 1 uses only the middle of the map.
 */
export function palette(name: string, level = 1): Uint8Array {
  const stops = stopsOf(name);
  if (!Number.isFinite(level) || level <= 0) {
    throw new InvalidArgumentError('--level', `must be a positive number, got ${level}`);
  }
  const out = new Uint8Array(256 * 3);
  const step = 2 / 255;
  for (let i = 0; i < 256; i++) {
    // Same arithmetic as numpy.linspace(-1, 1, 256): i * step + start, with the endpoint set exactly.
    const lin = i === 255 ? 1 : i * step - 1;
    const t = Math.min(1, Math.max(0, (lin * level + 1) / 2));
    const [r, g, b] = evaluate(stops, Math.min(255, Math.max(0, t * 255)));
    out[i * 3] = quantise(r);
    out[i * 3 + 1] = quantise(g);
    out[i * 3 + 2] = quantise(b);
  }
  return out;
}
