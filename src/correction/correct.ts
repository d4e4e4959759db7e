/**
 * Correcting a model without retraining (Reveal to Revise, step 3): P-ClArC or reactive ClArC from an artefact CAV,
 * written into the ONNX graph (weight-surgery/clarc.ts), and the CAV file that carries a CAV between commands.
 *
 * A CAV file is JSON: { layer, reduce, dims, direction, cleanProjection?, artefactProjection?, threshold? } as
 * `cavFile` writes it — or the tcav.json of `xsys tcav`, whose concept runs' directions are averaged.
 */
import { readFile } from 'node:fs/promises';
import type { ModelProto } from 'onnx-buf';
import { FileFormatError, InvalidArgumentError } from '../errors.js';
import { insertClarc, type ClarcInsertion, type ClarcMode } from '../weight-surgery/clarc.js';
import type { ArtefactCav } from './localise.js';

export interface CavFile {
  layer: string;
  reduce: 'flatten' | 'channels';
  /** Per-sample dims of the layer, when known. */
  dims?: number[];
  direction: number[];
  cleanProjection?: number;
  artefactProjection?: number;
  threshold?: number;
  method?: string;
  accuracy?: number;
  /** SHA-256 of the model the CAV was trained on. */
  model?: string;
}

export function cavFile(a: ArtefactCav, modelSha?: string): CavFile {
  return {
    layer: a.layer,
    reduce: a.reduce,
    dims: a.dims,
    direction: Array.from(a.cav.direction),
    cleanProjection: a.cleanProjection,
    artefactProjection: a.artefactProjection,
    threshold: a.threshold,
    method: a.cav.method,
    accuracy: a.cav.accuracy,
    ...(modelSha ? { model: modelSha } : {}),
  };
}

const isNumArray = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Parses a CAV file (ours, or `xsys tcav`'s tcav.json: the mean of its concept runs' directions). */
export function parseCavFile(text: string, file: string): CavFile {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new FileFormatError(file, `is not JSON (${(e as Error).message})`, 'pass the cav.json written by `xsys localise` or the tcav.json of `xsys tcav`');
  }
  if (typeof raw !== 'object' || raw === null) throw new FileFormatError(file, 'is not a JSON object');
  if (typeof raw.layer !== 'string') throw new FileFormatError(file, "has no 'layer' string");
  const reduce = raw.reduce === 'channels' ? 'channels' : 'flatten';
  let direction: number[];
  if (isNumArray(raw.direction)) direction = raw.direction;
  else if (Array.isArray(raw.runs) && raw.runs.length > 0 && raw.runs.every((r) => isNumArray((r as { direction?: unknown }).direction))) {
    const runs = raw.runs as { direction: number[] }[];
    const d = runs[0]!.direction.length;
    if (runs.some((r) => r.direction.length !== d)) throw new FileFormatError(file, 'runs have directions of different lengths');
    direction = Array.from({ length: d }, (_, j) => runs.reduce((s, r) => s + r.direction[j]!, 0) / runs.length);
  } else throw new FileFormatError(file, "has neither a 'direction' array of numbers nor tcav runs with directions");
  const opt = (k: string): number | undefined => {
    const v = raw[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new FileFormatError(file, `'${k}' must be a finite number`);
    return v;
  };
  const dims = raw.dims === undefined ? undefined : isNumArray(raw.dims) ? raw.dims : undefined;
  return {
    layer: raw.layer,
    reduce,
    dims,
    direction,
    cleanProjection: opt('cleanProjection'),
    artefactProjection: opt('artefactProjection'),
    threshold: opt('threshold'),
    ...(typeof raw.method === 'string' ? { method: raw.method } : typeof raw.cav === 'string' ? { method: raw.cav } : {}),
    ...(typeof raw.model === 'string' ? { model: raw.model } : typeof (raw.model as { sha256?: unknown } | undefined)?.sha256 === 'string' ? { model: (raw.model as { sha256: string }).sha256 } : {}),
  };
}

export async function readCavFile(file: string): Promise<CavFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError('--cav', `cannot read '${file}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseCavFile(text, file);
}

export interface CorrectionOptions {
  mode: ClarcMode;
  /** Reactive ClArC: apply only where uᵀa exceeds this (default: none, i.e. always). */
  threshold?: number;
  /** mean-shift's target; default the CAV's cleanProjection. */
  reference?: number;
}

/** P-ClArC (or reactive ClArC) of the CAV inserted after its layer; `dims` are the layer's per-sample dims. */
export function correctModel(model: ModelProto, cav: CavFile, dims: readonly number[], options: CorrectionOptions): ClarcInsertion {
  const reference = options.reference ?? cav.cleanProjection;
  if (options.mode === 'mean-shift' && reference === undefined) {
    throw new InvalidArgumentError('--mode', 'mean-shift needs the clean activations\' mean along the CAV', 'use a CAV file with cleanProjection (xsys localise writes it), pass --reference, or use --mode projection');
  }
  return insertClarc(model, { layer: cav.layer, dims, direction: cav.direction, mode: options.mode, reference, threshold: options.threshold });
}
