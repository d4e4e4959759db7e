import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileFormatError, InvalidArgumentError } from '../../src/errors.js';
import { encodeNpy, parseNpy, toFloat32 } from '../../src/io/npy.js';
import { readNpy, writeNpy } from '../../src/io/npy-file.js';

// Fixtures were written by numpy 2.x np.save / np.lib.format.write_array (see the test names for what each holds).
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'npy');
const fixture = (name: string): string => join(FIXTURES, name);

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'xsys-npy-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('readNpy on numpy-written files', () => {
  it('reads a float64 array with known values', async () => {
    const a = await readNpy(fixture('f64-2x3.npy'));
    expect(a.dtype).toBe('float64');
    expect(a.shape).toEqual([2, 3]);
    expect(a.data).toBeInstanceOf(Float64Array);
    expect(Array.from(a.data as Float64Array)).toEqual([-1, -0.5, 0, 0.5, 1, 1.5]);
  });

  it('reads a real float32 model input (conformance mlp input)', async () => {
    const a = await readNpy(fixture('mlp-input-f32.npy'));
    expect(a.dtype).toBe('float32');
    expect(a.shape).toEqual([2, 16]);
    const d = a.data as Float32Array;
    expect(d[0]).toBe(Math.fround(0.2170397788286209));
    expect(d[1]).toBe(Math.fround(0.9370037913322449));
    expect(d[2]).toBe(Math.fround(1.601076364517212));
    expect(d[31]).toBe(Math.fround(-1.6940057277679443));
    const sum = d.reduce((s, v) => s + v, 0);
    expect(sum).toBeCloseTo(5.000297546386719, 4);
  });

  it('reads real float64 logits exactly', async () => {
    const a = await readNpy(fixture('mlp-logits-f64.npy'));
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data as Float64Array)).toEqual([
      -0.2723989715468123, -0.0718932374636331, 0.34130670052029327, -0.010273361289993788, 0.29279671687358944,
      0.2896575807439337,
    ]);
  });

  it('reads int32, int64, uint8 and bool', async () => {
    const i4 = await readNpy(fixture('i4.npy'));
    expect(i4.dtype).toBe('int32');
    expect(Array.from(i4.data as Int32Array)).toEqual([7, -8, 2 ** 31 - 1, -(2 ** 31)]);

    const i8 = await readNpy(fixture('i8.npy'));
    expect(i8.dtype).toBe('int64');
    expect(i8.shape).toEqual([2, 2]);
    expect(Array.from(i8.data as BigInt64Array)).toEqual([1n, -2n, 2n ** 40n, -(2n ** 40n) + 3n]);

    const u1 = await readNpy(fixture('u1.npy'));
    expect(u1.dtype).toBe('uint8');
    expect(u1.shape).toEqual([2, 3]);
    expect(Array.from(u1.data as Uint8Array)).toEqual([0, 1, 127, 128, 254, 255]);

    const b = await readNpy(fixture('bool.npy'));
    expect(b.dtype).toBe('bool');
    expect(Array.from(b.data as Uint8Array)).toEqual([1, 0, 1, 1]);
  });

  it('byte-swaps big-endian data', async () => {
    const f4 = await readNpy(fixture('f32-be.npy'));
    expect(f4.dtype).toBe('float32');
    expect(Array.from(f4.data as Float32Array)).toEqual([1.5, -2.25, 3, Math.fround(1e-3)]);
    const f8 = await readNpy(fixture('f8-be.npy'));
    expect(Array.from(f8.data as Float64Array)).toEqual([Math.PI, -Math.E, 0]);
    const i4 = await readNpy(fixture('i4-be.npy'));
    expect(Array.from(i4.data as Int32Array)).toEqual([1, -2, 70000]);
    const i8 = await readNpy(fixture('i8-be.npy'));
    expect(Array.from(i8.data as BigInt64Array)).toEqual([1n, -2n, 2n ** 40n]);
  });

  it('converts Fortran order to C order', async () => {
    // np.asfortranarray(np.arange(24).reshape(2, 3, 4)): logical C-order values are 0..23.
    const a = await readNpy(fixture('f32-fortran.npy'));
    expect(a.shape).toEqual([2, 3, 4]);
    expect(Array.from(a.data as Float32Array)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    // Big-endian and Fortran order together, 2-D int64.
    const b = await readNpy(fixture('i8-be-fortran.npy'));
    expect(b.shape).toEqual([2, 3]);
    expect(Array.from(b.data as BigInt64Array)).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
  });

  it('reads format versions 2.0 and 3.0', async () => {
    for (const name of ['f32-v2.npy', 'f32-v3.npy']) {
      const bytes = await readFile(fixture(name));
      expect(bytes[6]).toBe(name === 'f32-v2.npy' ? 2 : 3);
      const a = parseNpy(bytes, name);
      expect(a.shape).toEqual([3]);
      expect(Array.from(a.data as Float32Array)).toEqual([0.25, -4, 8.5]);
    }
  });

  it('reads scalars and empty arrays', async () => {
    const s = await readNpy(fixture('scalar.npy'));
    expect(s.shape).toEqual([]);
    expect(Array.from(s.data as Float64Array)).toEqual([42.5]);
    const e = await readNpy(fixture('empty.npy'));
    expect(e.shape).toEqual([0, 3]);
    expect(e.data.length).toBe(0);
  });
});

describe('parseNpy errors', () => {
  it('reports truncated data with expected and found byte counts', async () => {
    const bytes = await readFile(fixture('mlp-input-f32.npy'));
    const cut = bytes.subarray(0, 128 + 100); // header is 128 bytes; 2*16 float32 need 128 data bytes
    expect(() => parseNpy(cut, 'input.npy')).toThrow(FileFormatError);
    expect(() => parseNpy(cut, 'input.npy')).toThrow(
      'input.npy: expected 128 bytes of float32 data for shape [2, 16], found 100 (file is truncated)',
    );
  });

  it('names the file for a truncated header', async () => {
    const bytes = await readFile(fixture('f64-2x3.npy'));
    expect(() => parseNpy(bytes.subarray(0, 40), 'x.npy')).toThrow(/^x\.npy: truncated \.npy header/);
  });

  it('rejects trailing bytes', async () => {
    const bytes = await readFile(fixture('f64-2x3.npy'));
    const longer = new Uint8Array(bytes.length + 8);
    longer.set(bytes);
    expect(() => parseNpy(longer, 'x.npy')).toThrow(/found 56 \(file has trailing bytes\)/);
  });

  it('rejects non-npy bytes', () => {
    const garbage = new TextEncoder().encode('this is not a numpy file at all');
    expect(() => parseNpy(garbage, 'g.npy')).toThrow(/g\.npy: not a \.npy file/);
    expect(() => parseNpy(new Uint8Array(0))).toThrow(/<buffer>: not a \.npy file/);
  });

  it('rejects unsupported dtypes with a hint', async () => {
    const f16 = await readFile(fixture('f16.npy'));
    try {
      parseNpy(f16, 'half.npy');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FileFormatError);
      expect((err as FileFormatError).message).toContain("unsupported dtype '<f2'");
      expect((err as FileFormatError).hint).toContain('astype(np.float32)');
    }
    const structured = await readFile(fixture('structured.npy'));
    expect(() => parseNpy(structured, 's.npy')).toThrow(/structured\/record arrays are not supported/);
  });

  it('rejects a malformed header', async () => {
    const bytes = new Uint8Array(await readFile(fixture('f64-2x3.npy')));
    const text = new TextDecoder('latin1').decode(bytes.subarray(10, 20));
    expect(text).toBe("{'descr': ");
    bytes[10] = '['.charCodeAt(0);
    expect(() => parseNpy(bytes, 'm.npy')).toThrow(/m\.npy: malformed \.npy header/);
  });

  it('rejects unsupported versions', async () => {
    const bytes = new Uint8Array(await readFile(fixture('f64-2x3.npy')));
    bytes[6] = 9;
    expect(() => parseNpy(bytes, 'v.npy')).toThrow('v.npy: unsupported .npy format version 9.0');
  });

  it('readNpy reports missing files and directories as FileFormatError', async () => {
    await expect(readNpy(join(tmp, 'nope.npy'))).rejects.toThrow(FileFormatError);
    await expect(readNpy(join(tmp, 'nope.npy'))).rejects.toThrow(/nope\.npy: file not found/);
    await expect(readNpy(tmp)).rejects.toThrow(/is a directory/);
  });

  it('does not modify the input bytes when byte-swapping', async () => {
    const bytes = new Uint8Array(await readFile(fixture('f32-be.npy')));
    const copy = bytes.slice();
    parseNpy(bytes);
    expect(bytes).toEqual(copy);
  });
});

describe('encodeNpy / writeNpy', () => {
  it('produces exactly the bytes numpy writes', async () => {
    for (const name of ['f64-2x3.npy', 'mlp-input-f32.npy', 'i4.npy', 'i8.npy', 'u1.npy', 'bool.npy', 'scalar.npy', 'empty.npy']) {
      const bytes = new Uint8Array(await readFile(fixture(name)));
      const a = parseNpy(bytes, name);
      const encoded = encodeNpy(a.data, a.shape, a.dtype);
      expect(Buffer.from(encoded).equals(Buffer.from(bytes)), name).toBe(true);
    }
  });

  it('writes 1-D shapes as a one-element tuple and pads the header to 64 bytes', () => {
    const out = encodeNpy(new Float32Array([1, 2, 3]), [3]);
    const headerLen = out[8]! | (out[9]! << 8);
    expect((10 + headerLen) % 64).toBe(0);
    const header = new TextDecoder().decode(out.subarray(10, 10 + headerLen));
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3,\), \} *\n$/);
  });

  it('round-trips every dtype', () => {
    const cases = [
      { data: new Float32Array([1.5, -0, Number.NaN, Infinity, -3.25, 1e-30]), shape: [2, 3] },
      { data: new Float64Array([Math.PI, -Math.E, 1e300, -1e-300]), shape: [2, 1, 2] },
      { data: new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31)]), shape: [4] },
      { data: new BigInt64Array([0n, -1n, 2n ** 62n, -(2n ** 63n)]), shape: [1, 4] },
      { data: new Uint8Array([0, 255, 7]), shape: [3, 1] },
    ];
    for (const { data, shape } of cases) {
      const back = parseNpy(encodeNpy(data, shape));
      expect(back.shape).toEqual(shape);
      expect(back.data.constructor).toBe(data.constructor);
      expect(Array.from(back.data as ArrayLike<number | bigint>)).toEqual(Array.from(data as ArrayLike<number | bigint>));
    }
    const bool = parseNpy(encodeNpy(new Uint8Array([1, 0, 1]), [3], 'bool'));
    expect(bool.dtype).toBe('bool');
  });

  it('encodes a subarray view without leaking neighbouring bytes', () => {
    const big = new Float32Array([9, 9, 1, 2, 9]);
    const back = parseNpy(encodeNpy(big.subarray(2, 4), [2]));
    expect(Array.from(back.data as Float32Array)).toEqual([1, 2]);
  });

  it('rejects a shape that does not match the data', () => {
    expect(() => encodeNpy(new Float32Array(6), [2, 2])).toThrow(InvalidArgumentError);
    expect(() => encodeNpy(new Float32Array(6), [2, 2])).toThrow('holds 4 elements but data has 6');
    expect(() => encodeNpy(new Float32Array(2), [2, -1])).toThrow(InvalidArgumentError);
    expect(() => encodeNpy(new Float32Array(2), [2], 'int32')).toThrow(InvalidArgumentError);
  });

  it('writeNpy writes atomically and leaves no temporary files', async () => {
    const dir = await mkdtemp(join(tmp, 'w-'));
    const path = join(dir, 'rel.npy');
    await writeNpy(path, new Float64Array([0.5, -0.5]), [1, 2]);
    expect(await readdir(dir)).toEqual(['rel.npy']);
    const a = await readNpy(path);
    expect(a.shape).toEqual([1, 2]);
    expect(Array.from(a.data as Float64Array)).toEqual([0.5, -0.5]);
    // Overwrite an existing file.
    await writeFile(path, 'old');
    await writeNpy(path, new Int32Array([3]), [1]);
    expect(Array.from((await readNpy(path)).data as Int32Array)).toEqual([3]);
    expect(await readdir(dir)).toEqual(['rel.npy']);
  });

  it('writeNpy to a missing directory is a FileFormatError', async () => {
    await expect(writeNpy(join(tmp, 'no', 'such', 'dir.npy'), new Float32Array(1), [1])).rejects.toThrow(
      /does not exist/,
    );
  });
});

describe('toFloat32', () => {
  it('converts every dtype', async () => {
    expect(Array.from(toFloat32(await readNpy(fixture('f64-2x3.npy'))))).toEqual([-1, -0.5, 0, 0.5, 1, 1.5]);
    expect(Array.from(toFloat32(await readNpy(fixture('i8.npy'))))).toEqual([1, -2, 2 ** 40, Math.fround(-(2 ** 40) + 3)]); // float32 rounding, as numpy's astype
    expect(Array.from(toFloat32(await readNpy(fixture('u1.npy'))))).toEqual([0, 1, 127, 128, 254, 255]);
    const f = await readNpy(fixture('f32-be.npy'));
    const converted = toFloat32(f);
    expect(converted).not.toBe(f.data);
    expect(Array.from(converted)).toEqual(Array.from(f.data as Float32Array));
  });
});
