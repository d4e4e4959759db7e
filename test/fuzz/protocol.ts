/** Messages between the fuzz runner and its worker processes, and the models the cases start from. */
import type { Outcome } from './target.js';

/** Small bundled models of different kinds: CNN, MLP, residual, stacked sums, BERT-like and ViT-like transformers. */
export const FUZZ_MODELS = [
  'test/fixtures/conformance/models/mlp.onnx',
  'test/fixtures/conformance/models/se-stack-mini.onnx',
  'test/fixtures/conformance/models/resnet-mini.onnx',
  'test/fixtures/conformance/models/vgg-bn.onnx',
  'test/fixtures/transformer-conformance/models/bert-tiny.onnx',
  'test/fixtures/transformer-conformance/models/vit-tiny.onnx',
] as const;

export type ParentMessage = { type: 'run'; seed: number; from: number; to: number } | { type: 'stop' };
export type ChildMessage = { type: 'ready' } | { type: 'idle' } | { type: 'start'; index: number } | { type: 'done'; index: number; outcome: Outcome };
