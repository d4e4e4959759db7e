import { activationVjps } from './activations.js';
import { elementwiseVjps } from './elementwise.js';
import { linearVjps } from './linear.js';
import { normalizationVjps } from './normalization.js';
import { attentionVjps } from './attention.js';
import { poolingVjps } from './pooling.js';
import { structuralVjps } from './structural.js';
import { resizeVjps } from './resize.js';
import type { Vjp } from './context.js';

/** Every op the gradient pass can differentiate, by ONNX op type. */
export const VJPS: Readonly<Record<string, Vjp>> = {
  ...elementwiseVjps,
  ...activationVjps,
  ...linearVjps,
  ...poolingVjps,
  ...structuralVjps,
  ...normalizationVjps,
  ...attentionVjps,
  ...resizeVjps,
};

/** Ops whose outputs carry no gradient (integer results, comparisons, constants). */
export const NON_DIFFERENTIABLE = new Set([
  'Shape', 'Size', 'ArgMax', 'ArgMin', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Not', 'And', 'Or',
  'Xor', 'NonZero', 'ConstantOfShape', 'Range', 'Constant', 'Floor', 'Ceil', 'Round', 'Sign', 'IsNaN', 'IsInf',
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'EyeLike', 'OneHot', 'TopK', 'Mod',
]);

export type { Vjp, VjpContext } from './context.js';
