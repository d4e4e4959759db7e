import { InvalidArgumentError } from '../errors.js';

/** Parses repeated `--param k=v` options into numbers; a malformed one is an error naming it. */
export function parseParams(list: string[] = []): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of list) {
    const m = /^([A-Za-z_][\w-]*)=(.+)$/.exec(item);
    if (!m) throw new InvalidArgumentError('--param', `'${item}' is not of the form name=value`);
    const v = Number(m[2]);
    if (!Number.isFinite(v)) throw new InvalidArgumentError('--param', `'${item}': value must be a finite number`);
    out[m[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  }
  return out;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseNumberList(flag: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(/[,x ]+/).filter(Boolean).map(Number);
  if (!parts.length || parts.some((p) => !Number.isFinite(p))) throw new InvalidArgumentError(flag, `'${value}' is not a comma-separated list of numbers`);
  return parts;
}

export function parseTarget(value: string | undefined): number | number[] | 'pred' {
  if (value === undefined || value === 'pred') return 'pred';
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.some((p) => !Number.isInteger(p) || p < 0)) throw new InvalidArgumentError('--target', `'${value}' is not 'pred', a class index or a comma-separated list of class indices`);
  return parts.length === 1 ? parts[0]! : parts;
}

/** Index of the largest value, without spreading the array into arguments (score tensors can hold 10⁵+ values). */
export function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
