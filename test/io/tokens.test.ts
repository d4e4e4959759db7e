import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { idsFromJson, loadTokenizer, readTokenIds } from '../../src/io/tokens.js';
import { writeNpy } from '../../src/io/npy-file.js';
import { FileFormatError, InvalidArgumentError } from '../../src/errors.js';
import { wordPieceTokenizer } from '../helpers/tokenizer.js';

const tmp = mkdtempSync(join(tmpdir(), 'xsys-tokens-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('token id files', () => {
  it('JSON lists: one sequence → [1, n], a batch → [b, n]; ragged or non-integer lists are errors', () => {
    const one = idsFromJson([5, 6, 7], 'x.json');
    expect(one.shape).toEqual([1, 3]);
    expect(Array.from(one.data as BigInt64Array, Number)).toEqual([5, 6, 7]);
    expect(idsFromJson([[1, 2], [3, 4]], 'x.json').shape).toEqual([2, 2]);
    expect(() => idsFromJson([[1, 2], [3]], 'x.json')).toThrow(/same length/);
    expect(() => idsFromJson([1.5, 2], 'x.json')).toThrow(FileFormatError);
    expect(() => idsFromJson('abc', 'x.json')).toThrow(FileFormatError);
  });

  it('.npy ids (int32 → int64, 1-D → [1, n]); float .npy, other extensions and unreadable files are errors', async () => {
    await writeNpy(join(tmp, 'a.npy'), Int32Array.from([3, 1, 4]), [3]);
    const a = await readTokenIds(join(tmp, 'a.npy'));
    expect(a.shape).toEqual([1, 3]);
    expect(a.data).toEqual(BigInt64Array.from([3n, 1n, 4n]));
    await writeNpy(join(tmp, 'f.npy'), Float32Array.from([3, 1]), [2]);
    await expect(readTokenIds(join(tmp, 'f.npy'))).rejects.toThrow(/must be integers, the file holds float32/);
    await expect(readTokenIds(join(tmp, 'ids.txt'))).rejects.toThrow(InvalidArgumentError);
    await expect(readTokenIds(join(tmp, 'missing.json'))).rejects.toThrow(/cannot read token ids \(ENOENT\)/);
  });
});

describe('loadTokenizer (Hugging Face tokenizer.json, offline)', () => {
  it('encodes text into ids and tokens and maps ids back to vocabulary tokens', async () => {
    const p = join(tmp, 'tokenizer.json');
    writeFileSync(p, JSON.stringify(wordPieceTokenizer(['hello', 'world', '##s'])));
    const t = await loadTokenizer(p);
    expect(t.encode('Hello worlds')).toEqual({ ids: [2, 4, 5, 6, 3], tokens: ['[CLS]', 'hello', 'world', '##s', '[SEP]'] });
    expect(t.token(6)).toBe('##s');
    expect(t.token(0)).toBe('[PAD]');
    expect(t.token(999)).toBe('#999');
  });

  it('a missing file, non-JSON and JSON that is not a tokenizer are errors naming the file', async () => {
    await expect(loadTokenizer(join(tmp, 'none.json'))).rejects.toThrow(/none\.json: tokenizer file not found/);
    writeFileSync(join(tmp, 'bad.json'), '{');
    await expect(loadTokenizer(join(tmp, 'bad.json'))).rejects.toThrow(/bad\.json: not a readable JSON file/);
    writeFileSync(join(tmp, 'other.json'), '{"a": 1}');
    await expect(loadTokenizer(join(tmp, 'other.json'))).rejects.toThrow(/no 'model' section/);
  });
});
