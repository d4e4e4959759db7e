/** Plane geometry for MST-C: percentile, convex-hull area, k-NN graph and minimum spanning forest. */

/** numpy's default (linear) percentile, q in [0, 100]. */
export function percentile(values: ArrayLike<number>, q: number): number {
  const v = Float64Array.from(values).sort();
  const pos = (q / 100) * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
}

/** Area of the convex hull of 2-D points (Andrew's monotone chain + shoelace); 0 for collinear points. */
export function convexHullArea(px: Float64Array, py: Float64Array): number {
  const n = px.length;
  if (n < 3) return 0;
  const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => px[i]! - px[j]! || py[i]! - py[j]!);
  const cross = (o: number, a: number, b: number): number => (px[a]! - px[o]!) * (py[b]! - py[o]!) - (py[a]! - py[o]!) * (px[b]! - px[o]!);
  const hull: number[] = [];
  for (const pass of [idx, [...idx].reverse()]) {
    const start = hull.length;
    for (const p of pass) {
      while (hull.length >= start + 2 && cross(hull[hull.length - 2]!, hull[hull.length - 1]!, p) <= 0) hull.pop();
      hull.push(p);
    }
    hull.pop();
  }
  let area = 0;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i]!;
    const b = hull[(i + 1) % hull.length]!;
    area += px[a]! * py[b]! - px[b]! * py[a]!;
  }
  return Math.abs(area) / 2;
}

export interface Edge {
  u: number;
  v: number;
  w: number;
}

/**
 * Undirected k-nearest-neighbour graph (Euclidean) of points on an integer grid of `H × W` cells, an edge kept when
 * either end chose the other (sklearn kneighbors_graph, then max(G, Gᵀ)). Ties in distance are broken by point
 * order. Neighbours are searched ring by ring (Chebyshev radius r) on an occupancy grid and the search stops once
 * the k-th distance is ≤ r — nothing farther out can be closer — so dense maps cost about O(|V|·k), not O(|V|²).
 */
export function symmetricKnnEdges(px: Float64Array, py: Float64Array, k: number, H: number, W: number): Edge[] {
  const n = px.length;
  const grid = new Int32Array(H * W).fill(-1);
  for (let i = 0; i < n; i++) grid[px[i]! * W + py[i]!] = i;
  const seen = new Set<number>();
  const edges: Edge[] = [];
  const kk = Math.min(k, n - 1);
  const maxR = Math.max(H, W);
  for (let i = 0; i < n; i++) {
    const r0 = px[i]!;
    const c0 = py[i]!;
    const cand: { j: number; d: number }[] = [];
    for (let r = 1; r <= maxR; r++) {
      for (let dr = -r; dr <= r; dr++) {
        const rr = r0 + dr;
        if (rr < 0 || rr >= H) continue;
        const step = Math.abs(dr) === r ? 1 : 2 * r;
        for (let dc = -r; dc <= r; dc += step) {
          const cc = c0 + dc;
          if (cc < 0 || cc >= W) continue;
          const j = grid[rr * W + cc]!;
          if (j >= 0) cand.push({ j, d: Math.hypot(dr, dc) });
        }
      }
      if (cand.length >= kk) {
        cand.sort((u, v) => u.d - v.d || u.j - v.j);
        if (cand[kk - 1]!.d <= r) break;
      }
    }
    cand.sort((u, v) => u.d - v.d || u.j - v.j);
    for (let t = 0; t < kk; t++) {
      const { j, d } = cand[t]!;
      const key = i < j ? i * n + j : j * n + i;
      if (seen.has(key)) continue;
      seen.add(key);
      edges.push({ u: i, v: j, w: d });
    }
  }
  return edges;
}

/** Kruskal: total length of the minimum spanning forest and its number of components. */
export function minimumSpanningForest(n: number, edges: Edge[]): { length: number; components: number } {
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]!]!;
      a = parent[a]!;
    }
    return a;
  };
  let length = 0;
  let components = n;
  for (const e of [...edges].sort((a, b) => a.w - b.w)) {
    const ru = find(e.u);
    const rv = find(e.v);
    if (ru === rv) continue;
    parent[ru] = rv;
    length += e.w;
    components--;
  }
  return { length, components };
}
