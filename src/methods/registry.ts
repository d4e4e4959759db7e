/**
 * The attribution methods, one file each. Adding a method: a file under src/methods/ that calls defineMethod (from
 * ./define.js), plus one line in METHODS below. Everything else — explain(), the CLI's --help and parameter checks,
 * the API's request schema and GET /api/methods, provenance — reads this list.
 */
import { InvalidArgumentError } from '../errors.js';
import type { MethodDefinition } from './define.js';
import { crp } from './crp.js';
import { gradCam } from './grad-cam.js';
import { gradient, gradientXInput } from './gradient.js';
import { integratedGradients } from './integrated-gradients.js';
import { lrp } from './lrp.js';
import { occlusion } from './occlusion.js';
import { smoothgrad } from './smoothgrad.js';

export { defineMethod, type MethodContext, type MethodDeclaration, type MethodDefinition, type MethodResult, type OnePass } from './define.js';
export type { ParamSpec } from '../param-spec.js';

export const METHODS = [
  lrp,
  gradient,
  gradientXInput,
  smoothgrad,
  integratedGradients,
  occlusion,
  gradCam,
  crp,
] as const;

export type MethodName = (typeof METHODS)[number]['name'];
export const METHOD_NAMES: readonly MethodName[] = METHODS.map((m) => m.name);

/** The method of a name, or an error listing the methods. */
export function getMethod(name: string, arg = '--method'): MethodDefinition<MethodName> {
  const m = METHODS.find((d) => d.name === name);
  if (!m) throw new InvalidArgumentError(arg, `unknown method '${name}'`, `methods: ${METHOD_NAMES.join(', ')}`);
  return m;
}

/** The declarations alone (no functions): what GET /api/methods publishes. */
export function methodDeclarations() {
  return METHODS.map(({ name, description, params, composite, onePass, device, tokenInputs }) => ({ name, description, params: [...params], composite, onePass, device, tokenInputs }));
}
