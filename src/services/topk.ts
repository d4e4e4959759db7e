/** The k highest scores with their softmax probabilities, highest first (the workbench's top-k lists). */
export function softmaxTopk(scores: Float32Array, k = 5): { class: number; score: number; prob: number }[] {
  let max = -Infinity;
  for (const s of scores) max = Math.max(max, s);
  let sum = 0;
  const exp = Array.from(scores, (s) => {
    const e = Math.exp(s - max);
    sum += e;
    return e;
  });
  return Array.from(scores, (score, c) => ({ class: c, score, prob: exp[c]! / sum }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}
