/** Attribution mass of one sample inside its mask and in total; `positiveOnly` counts only a > 0 (Focus). */
export function maskMass(a: ArrayLike<number>, s: ArrayLike<number>, positiveOnly = false): { inside: number; total: number; size: number } {
  let inside = 0;
  let total = 0;
  let size = 0;
  for (let j = 0; j < a.length; j++) {
    const v = a[j]!;
    if (s[j]) size++;
    if (positiveOnly && !(v > 0)) continue;
    total += v;
    if (s[j]) inside += v;
  }
  return { inside, total, size };
}
