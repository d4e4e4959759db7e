/** Node-only model loading, apart from src/onnx/model.ts so that parsing and serialising run in the browser too. */
import { readFile } from 'node:fs/promises';
import type { ModelProto } from 'onnx-buf';
import { FileFormatError } from '../errors.js';
import { parseModel } from './model.js';

export async function readModel(path: string): Promise<ModelProto> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new FileFormatError(path, `cannot read model file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseModel(bytes, path);
}
