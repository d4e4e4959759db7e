/**
 * Per-channel top-k lists of dataset samples under a total order (value descending, then dataset index ascending),
 * so the result does not depend on the order samples are offered or partial lists are merged: shards of a dataset
 * can be collected anywhere and merged to exactly the list one pass would give.
 */
export interface TopKJson {
  k: number;
  channels: number;
  /** Per channel, best first: [value, dataset index, flat spatial position]. */
  lists: [number, number, number][][];
}

export class TopK {
  readonly values: Float64Array;
  readonly indices: Int32Array;
  readonly positions: Int32Array;
  private readonly filled: Int32Array;

  constructor(
    readonly k: number,
    readonly channels: number,
  ) {
    this.values = new Float64Array(k * channels);
    this.indices = new Int32Array(k * channels).fill(-1);
    this.positions = new Int32Array(k * channels);
    this.filled = new Int32Array(channels);
  }

  /** Whether (value, index) ranks before (v2, i2). NaN ranks last. */
  private static before(value: number, index: number, v2: number, i2: number): boolean {
    if (Number.isNaN(v2)) return !Number.isNaN(value) || index < i2;
    if (Number.isNaN(value)) return false;
    return value > v2 || (value === v2 && index < i2);
  }

  offer(channel: number, value: number, index: number, position: number): void {
    // −0 and 0 are the same value; JSON would turn one into the other and break bit-equality after a resume.
    if (value === 0) value = 0;
    const base = channel * this.k;
    let n = this.filled[channel]!;
    if (n === this.k && !TopK.before(value, index, this.values[base + n - 1]!, this.indices[base + n - 1]!)) return;
    if (n < this.k) n++;
    let j = n - 1;
    while (j > 0 && TopK.before(value, index, this.values[base + j - 1]!, this.indices[base + j - 1]!)) {
      this.values[base + j] = this.values[base + j - 1]!;
      this.indices[base + j] = this.indices[base + j - 1]!;
      this.positions[base + j] = this.positions[base + j - 1]!;
      j--;
    }
    this.values[base + j] = value;
    this.indices[base + j] = index;
    this.positions[base + j] = position;
    this.filled[channel] = n;
  }

  merge(other: TopK): this {
    for (let c = 0; c < this.channels; c++) for (const [v, i, p] of other.list(c)) this.offer(c, v, i, p);
    return this;
  }

  list(channel: number): [number, number, number][] {
    const base = channel * this.k;
    return Array.from({ length: this.filled[channel]! }, (_, j) => [this.values[base + j]!, this.indices[base + j]!, this.positions[base + j]!]);
  }

  toJSON(): TopKJson {
    return { k: this.k, channels: this.channels, lists: Array.from({ length: this.channels }, (_, c) => this.list(c)) };
  }

  static fromJSON(j: TopKJson): TopK {
    const t = new TopK(j.k, j.channels);
    j.lists.forEach((l, c) => l.forEach(([v, i, p]) => t.offer(c, v, i, p)));
    return t;
  }
}
