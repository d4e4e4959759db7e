/**
 * NumPy .npy reading and writing.
 *
 * .npy is how inputs reach xsys from Python pipelines and how attributions go back to them, so the reader accepts
 * everything `np.save` produces for the dtypes xsys handles (format versions 1.0–3.0, either byte order, C or Fortran
 * order) and fails with a FileFormatError that says exactly what is wrong instead of returning garbage numbers.
 * File reading and writing live in npy-file.ts (Node only), so parsing and encoding also run in the browser.
 * The writer produces version 1.0 files (2.0 only for huge headers) exactly like `np.save`, so NumPy reads them back.
 *
 * Format reference: the NEP 1 / numpy.lib.format description — magic "\x93NUMPY", major and minor version bytes, a
 * little-endian header length (uint16 in 1.0, uint32 in 2.0/3.0), a Python dict literal with keys descr,
 * fortran_order and shape padded with spaces and '\n' to a multiple of 64 bytes, then the raw data.
 */
import { FileFormatError, InvalidArgumentError } from '../errors.js';

/** Element types xsys reads and writes. 'bool' is stored one byte per element (0 or 1) in a Uint8Array. */
export type NpyDtype = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';

/** Typed arrays that back an NdArray; one per dtype ('uint8' and 'bool' share Uint8Array). */
export type NpyData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** A dense n-dimensional array in C (row-major) order. */
export interface NdArray {
  data: NpyData;
  shape: number[];
  dtype: NpyDtype;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** Whether this machine stores typed arrays little-endian (true on every platform Node ships for, checked anyway). */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface DtypeInfo {
  dtype: NpyDtype;
  itemSize: number;
  create: (buffer: ArrayBuffer, length: number) => NpyData;
}

/** Type characters of descr ('<f4' → 'f4') that xsys supports. */
const DTYPES: Record<string, DtypeInfo> = {
  f4: { dtype: 'float32', itemSize: 4, create: (b, n) => new Float32Array(b, 0, n) },
  f8: { dtype: 'float64', itemSize: 8, create: (b, n) => new Float64Array(b, 0, n) },
  i4: { dtype: 'int32', itemSize: 4, create: (b, n) => new Int32Array(b, 0, n) },
  i8: { dtype: 'int64', itemSize: 8, create: (b, n) => new BigInt64Array(b, 0, n) },
  u1: { dtype: 'uint8', itemSize: 1, create: (b, n) => new Uint8Array(b, 0, n) },
  b1: { dtype: 'bool', itemSize: 1, create: (b, n) => new Uint8Array(b, 0, n) },
};

const SUPPORTED_DESCRS = "'<f4', '<f8', '<i4', '<i8', '|u1', '|b1' (or big-endian '>' variants)";

// ---------------------------------------------------------------------------------------------------------------
// Header parsing: a tiny parser for the Python literal subset np.save writes (dict, tuple, list, str, int, bool,
// None). A regex would accept malformed headers and misread unusual-but-valid ones (e.g. keys in another order).
// ---------------------------------------------------------------------------------------------------------------

type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

class HeaderSyntaxError extends Error {}

function parsePythonLiteral(text: string): PyValue {
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const fail = (what: string): never => {
    throw new HeaderSyntaxError(`${what} at position ${pos} of header ${JSON.stringify(text.trim())}`);
  };
  const parseSequence = (close: string): PyValue[] => {
    const items: PyValue[] = [];
    skipSpace();
    while (text[pos] !== close) {
      items.push(parseValue());
      skipSpace();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
      skipSpace();
    }
    pos++;
    return items;
  };
  const parseValue = (): PyValue => {
    skipSpace();
    const c = text[pos];
    if (c === undefined) return fail('unexpected end');
    if (c === '{') {
      pos++;
      const dict: { [key: string]: PyValue } = {};
      skipSpace();
      while (text[pos] !== '}') {
        const key = parseValue();
        if (typeof key !== 'string') fail('dict key is not a string');
        skipSpace();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        dict[key as string] = parseValue();
        skipSpace();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== '}') fail("expected ',' or '}'");
        skipSpace();
      }
      pos++;
      return dict;
    }
    if (c === '(') {
      pos++;
      return parseSequence(')');
    }
    if (c === '[') {
      pos++;
      return parseSequence(']');
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, pos + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(pos + 1, end);
      pos = end + 1;
      return s;
    }
    const word = /^(-?\d+L?|True|False|None)/.exec(text.slice(pos));
    if (!word) return fail('unexpected character');
    pos += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    return Number.parseInt(word[0], 10);
  };
  const value = parseValue();
  skipSpace();
  if (pos !== text.length) fail('trailing characters');
  return value;
}

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

function parseHeader(text: string, file: string): NpyHeader {
  let dict: PyValue;
  try {
    dict = parsePythonLiteral(text);
  } catch (err) {
    if (err instanceof HeaderSyntaxError) throw new FileFormatError(file, `malformed .npy header: ${err.message}`);
    throw err;
  }
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
    throw new FileFormatError(file, 'malformed .npy header: not a dict');
  }
  const { descr, fortran_order: fortranOrder, shape } = dict;
  if (typeof descr !== 'string') {
    throw new FileFormatError(
      file,
      `unsupported dtype: structured/record arrays are not supported (descr ${JSON.stringify(descr)})`,
      `save a plain numeric array, e.g. np.save(path, arr.astype(np.float32))`,
    );
  }
  if (typeof fortranOrder !== 'boolean') throw new FileFormatError(file, "malformed .npy header: 'fortran_order' missing");
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new FileFormatError(file, `malformed .npy header: bad 'shape' ${JSON.stringify(shape)}`);
  }
  return { descr, fortranOrder, shape: shape as number[] };
}

/** Byte order and type of a descr string; `littleEndian` is undefined for one-byte types. */
function resolveDescr(descr: string, file: string): { info: DtypeInfo; littleEndian: boolean } {
  const m = /^([<>|=]?)([a-z]\d+)$/.exec(descr);
  const info = m ? DTYPES[m[2]!] : undefined;
  if (!m || !info) {
    throw new FileFormatError(
      file,
      `unsupported dtype '${descr}'; supported: ${SUPPORTED_DESCRS}`,
      'convert before saving, e.g. np.save(path, arr.astype(np.float32))',
    );
  }
  const order = m[1];
  if (info.itemSize > 1 && order === '|') {
    throw new FileFormatError(file, `invalid dtype '${descr}': multi-byte type without byte order`);
  }
  const littleEndian = order === '>' ? false : order === '<' ? true : HOST_LITTLE_ENDIAN;
  return { info, littleEndian };
}

function swapBytes(bytes: Uint8Array, itemSize: number): void {
  for (let i = 0; i < bytes.length; i += itemSize) {
    for (let a = i, b = i + itemSize - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/**
 * Reorder Fortran-ordered (column-major) element bytes into C order. Done on bytes so it works for every dtype.
 * Walks the C-order index like an odometer, tracking the matching Fortran offset incrementally.
 */
function fortranToC(src: Uint8Array, shape: number[], itemSize: number): Uint8Array<ArrayBuffer> {
  const n = shape.length;
  const dst = new Uint8Array(src.length);
  const count = src.length / itemSize;
  if (n < 2 || count === 0) {
    dst.set(src);
    return dst;
  }
  const fStride = new Array<number>(n);
  let s = 1;
  for (let k = 0; k < n; k++) {
    fStride[k] = s;
    s *= shape[k]!;
  }
  const idx = new Array<number>(n).fill(0);
  let fOffset = 0;
  for (let c = 0; c < count; c++) {
    dst.set(src.subarray(fOffset * itemSize, (fOffset + 1) * itemSize), c * itemSize);
    for (let k = n - 1; k >= 0; k--) {
      idx[k]!++;
      fOffset += fStride[k]!;
      if (idx[k]! < shape[k]!) break;
      fOffset -= idx[k]! * fStride[k]!;
      idx[k] = 0;
    }
  }
  return dst;
}

/**
 * Parse the bytes of a .npy file. `file` is only used in error messages.
 * Big-endian data is byte-swapped and Fortran-ordered data is reordered, so the result is always native-endian and
 * C-ordered. Throws FileFormatError for anything that is not a complete .npy file of a supported dtype.
 */
export function parseNpy(bytes: Uint8Array, file = '<buffer>'): NdArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw new FileFormatError(file, 'not a .npy file (missing \\x93NUMPY magic)', 'create it with numpy.save()');
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3) {
    throw new FileFormatError(file, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new FileFormatError(file, 'truncated .npy header');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  const dataStart = headerStart + headerLength;
  if (bytes.length < dataStart) {
    throw new FileFormatError(
      file,
      `truncated .npy header: expected ${headerLength} header bytes, found ${bytes.length - headerStart}`,
    );
  }
  // Version 3.0 only differs from 2.0 by allowing UTF-8 in the header (field names); 1.0/2.0 are latin-1.
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const header = parseHeader(headerText, file);
  const { info, littleEndian } = resolveDescr(header.descr, file);

  const count = header.shape.reduce((a, b) => a * b, 1);
  const expected = count * info.itemSize;
  const found = bytes.length - dataStart;
  if (found !== expected) {
    const what = found < expected ? 'file is truncated' : 'file has trailing bytes';
    throw new FileFormatError(
      file,
      `expected ${expected} bytes of ${info.dtype} data for shape [${header.shape.join(', ')}], found ${found} (${what})`,
    );
  }
  // Copy into a fresh buffer: the data offset need not be aligned for the typed array, and swapping/reordering must
  // not modify the caller's bytes. (Not bytes.slice(): on a Node Buffer that returns a view, not a copy.)
  let raw = new Uint8Array(expected);
  raw.set(bytes.subarray(dataStart, dataStart + expected));
  if (info.itemSize > 1 && littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(raw, info.itemSize);
  if (header.fortranOrder) raw = fortranToC(raw, header.shape, info.itemSize);
  return { data: info.create(raw.buffer, count), shape: header.shape, dtype: info.dtype };
}

/**
 * Convert any NdArray to Float32Array (the dtype ONNX models take), sharing no memory with the input.
 * int64 values beyond ±2^24 lose precision, as they would in NumPy's astype(np.float32).
 */
export function toFloat32(a: NdArray): Float32Array<ArrayBuffer> {
  const { data } = a;
  if (data instanceof BigInt64Array) {
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
    return out;
  }
  return Float32Array.from(data);
}

// ---------------------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------------------

function descrFor(data: NpyData, dtype: NpyDtype | undefined): string {
  const le = '<';
  let natural: NpyDtype;
  if (data instanceof Float32Array) natural = 'float32';
  else if (data instanceof Float64Array) natural = 'float64';
  else if (data instanceof Int32Array) natural = 'int32';
  else if (data instanceof BigInt64Array) natural = 'int64';
  else natural = 'uint8';
  const chosen = dtype ?? natural;
  const compatible = chosen === natural || (chosen === 'bool' && natural === 'uint8');
  if (!compatible) {
    throw new InvalidArgumentError('dtype', `cannot write ${data.constructor.name} as '${chosen}'`);
  }
  switch (chosen) {
    case 'float32':
      return `${le}f4`;
    case 'float64':
      return `${le}f8`;
    case 'int32':
      return `${le}i4`;
    case 'int64':
      return `${le}i8`;
    case 'uint8':
      return '|u1';
    case 'bool':
      return '|b1';
  }
}

/**
 * Encode a typed array as .npy bytes (C order, little-endian). The dtype follows the array type; pass
 * dtype 'bool' to store a Uint8Array of 0/1 as NumPy bool. Throws InvalidArgumentError if `shape` does not match
 * the number of elements.
 */
export function encodeNpy(data: NpyData, shape: number[], dtype?: NpyDtype): Uint8Array {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new InvalidArgumentError('shape', `dimensions must be non-negative integers, got [${shape.join(', ')}]`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new InvalidArgumentError('shape', `shape [${shape.join(', ')}] holds ${count} elements but data has ${data.length}`);
  }
  const descr = descrFor(data, dtype);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad with spaces so that magic + version + length field + header (ending in '\n') is a multiple of 64 bytes,
  // which lets readers memory-map the data aligned. Use version 2.0 only when the header overflows uint16.
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  dict = dict.padEnd(total - prefix - 1, ' ') + '\n';

  const itemBytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const itemSize = data.BYTES_PER_ELEMENT;
  if (itemSize > 1 && !HOST_LITTLE_ENDIAN) swapBytes(itemBytes, itemSize);

  const out = new Uint8Array(total + itemBytes.length);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  if (prefix === 10) {
    out[6] = 1;
    out[7] = 0;
    view.setUint16(8, dict.length, true);
  } else {
    out[6] = 2;
    out[7] = 0;
    view.setUint32(8, dict.length, true);
  }
  for (let i = 0; i < dict.length; i++) out[prefix + i] = dict.charCodeAt(i);
  out.set(itemBytes, total);
  return out;
}
