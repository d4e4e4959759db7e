/** Case i of seed s: bundled model i mod |models| mutated with rng(s, i), so every case can be replayed alone. */
import { readFileSync } from 'node:fs';

import { mulberry32 } from '../../src/seeded-random.js';
import { mutate } from './mutate.js';
import { FUZZ_MODELS } from './protocol.js';

let bases: Uint8Array[] | undefined;

export function caseBytes(seed: number, index: number): Uint8Array {
  bases ??= FUZZ_MODELS.map((p) => new Uint8Array(readFileSync(p)));
  const r = mulberry32((Math.imul(seed, 0x9e3779b1) ^ index) >>> 0);
  return mutate(bases[index % bases.length]!, r);
}
