/**
 * IDX files (the format MNIST, Fashion-MNIST and EMNIST ship in), parsed generically.
 *
 * Layout (LeCun's description): two zero bytes, a type byte, the number of dimensions, then one big-endian uint32
 * per dimension, then the data, big-endian, in row-major order. The parser accepts every type the format defines
 * and any rank, and refuses anything that does not add up (wrong magic, unknown type, truncated or over-long data)
 * with a FileFormatError naming the file: a misread dataset would otherwise give plausible but meaningless scores.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

import { FileFormatError } from '../errors.js';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  /** Values in row-major order; uint8/int8 keep their integer values. */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { dtype: IdxDtype; size: number }> = {
  0x08: { dtype: 'uint8', size: 1 },
  0x09: { dtype: 'int8', size: 1 },
  0x0b: { dtype: 'int16', size: 2 },
  0x0c: { dtype: 'int32', size: 4 },
  0x0d: { dtype: 'float32', size: 4 },
  0x0e: { dtype: 'float64', size: 8 },
};

/** Parses IDX bytes (gzip-compressed files are inflated first). */
export function parseIdx(input: Uint8Array, file = '<buffer>'): IdxArray {
  let bytes = input;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new FileFormatError(file, `looks gzip-compressed but cannot be inflated: ${(e as Error).message}`, 'the download may be incomplete');
    }
  }
  if (bytes.length < 4) throw new FileFormatError(file, `is ${bytes.length} bytes long, too short for an IDX header (4 bytes)`, 'the file is truncated');
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new FileFormatError(file, `is not an IDX file: it starts with ${magic}, an IDX file starts with 00 00 <type> <rank>`, 'pass MNIST-style *-idx1-ubyte / *-idx3-ubyte files, .npy arrays or an image folder');
  }
  const type = TYPES[bytes[2]!];
  if (!type) throw new FileFormatError(file, `unknown IDX element type 0x${bytes[2]!.toString(16).padStart(2, '0')}`, 'IDX types: 08 uint8, 09 int8, 0B int16, 0C int32, 0D float32, 0E float64');
  const rank = bytes[3]!;
  if (rank === 0) throw new FileFormatError(file, 'IDX header declares 0 dimensions');
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw new FileFormatError(file, `is truncated inside its header: ${rank} dimensions need ${headerBytes} header bytes, the file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * type.size;
  if (bytes.length < expected) {
    throw new FileFormatError(file, `is truncated: shape [${shape.join(', ')}] of ${type.dtype} needs ${expected} bytes, the file has ${bytes.length}`, 'the download may be incomplete');
  }
  if (bytes.length > expected) {
    throw new FileFormatError(file, `has ${bytes.length - expected} bytes after the data of shape [${shape.join(', ')}] (${type.dtype})`, 'the header does not describe this file; is it really IDX?');
  }
  const body = bytes.subarray(headerBytes, expected);
  const bodyView = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let data: IdxArray['data'];
  switch (type.dtype) {
    case 'uint8':
      data = new Uint8Array(body);
      break;
    case 'int8':
      data = new Int8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
      break;
    case 'int16':
      data = Int16Array.from({ length: count }, (_, i) => bodyView.getInt16(2 * i, false));
      break;
    case 'int32':
      data = Int32Array.from({ length: count }, (_, i) => bodyView.getInt32(4 * i, false));
      break;
    case 'float32':
      data = Float32Array.from({ length: count }, (_, i) => bodyView.getFloat32(4 * i, false));
      break;
    case 'float64':
      data = Float64Array.from({ length: count }, (_, i) => bodyView.getFloat64(8 * i, false));
      break;
  }
  return { dtype: type.dtype, shape, data };
}

export async function readIdx(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileFormatError(path, code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not an IDX file' : `cannot read file: ${(e as Error).message}`);
  }
  return parseIdx(bytes, path);
}

/** Whether the file name looks like an IDX file (MNIST naming: "...-idx3-ubyte", or ".idx"). */
export function isIdxPath(path: string): boolean {
  return /idx\d+-ubyte(\.gz)?$|\.idx\d*(\.gz)?$/i.test(path);
}

/** Encodes an IDX file (used by tests and to write subsets). */
export function encodeIdx(array: IdxArray): Uint8Array {
  const code = Number(Object.entries(TYPES).find(([, t]) => t.dtype === array.dtype)![0]);
  const size = TYPES[code]!.size;
  const out = new Uint8Array(4 + 4 * array.shape.length + array.data.length * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = array.shape.length;
  array.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const off = 4 + 4 * array.shape.length;
  for (let i = 0; i < array.data.length; i++) {
    const v = array.data[i]!;
    switch (array.dtype) {
      case 'uint8':
        view.setUint8(off + i, v);
        break;
      case 'int8':
        view.setInt8(off + i, v);
        break;
      case 'int16':
        view.setInt16(off + 2 * i, v, false);
        break;
      case 'int32':
        view.setInt32(off + 4 * i, v, false);
        break;
      case 'float32':
        view.setFloat32(off + 4 * i, v, false);
        break;
      case 'float64':
        view.setFloat64(off + 8 * i, v, false);
        break;
    }
  }
  return out;
}
