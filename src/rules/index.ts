import { InvalidArgumentError } from '../errors.js';
import { deconvNet, gradient, guidedBackprop } from './gradient-rules.js';
import type { Rule } from './types.js';
import { alphaBeta, flat, gamma, wSquare, zBox, zPlus } from './weight-rules.js';
import { epsilon, norm, pass } from './z-rules.js';
import { gradientTimesInput, identity, normIdentity, stopGradient, uniform } from './transformer-rules.js';
import { signalTakeAll } from './gate-rules.js';

export const RULES: Readonly<Record<string, Rule>> = Object.fromEntries(
  [epsilon, norm, pass, zPlus, alphaBeta, gamma, zBox, wSquare, flat, guidedBackprop, deconvNet, gradient, identity, uniform, stopGradient, normIdentity, signalTakeAll, gradientTimesInput].map((r) => [r.name, r]),
);

/** Accepts Zennit's class names too (ZPlus, AlphaBeta, WSquare …). */
const ALIASES: Record<string, string> = { zplus: 'zplus', 'z-plus': 'zplus', alphabeta: 'alpha-beta', zbox: 'zbox', 'z-box': 'zbox', wsquare: 'wsquare', 'w-square': 'wsquare', guidedbackprop: 'guided-backprop', deconvnet: 'deconvnet', stopgradient: 'stop-gradient', normidentity: 'norm-identity', signaltakeall: 'signal-take-all', gradienttimesinput: 'gradient-times-input' };

export function getRule(name: string): Rule {
  const key = name.toLowerCase();
  const rule = RULES[key] ?? RULES[ALIASES[key.replace(/[_\s]/g, '')] ?? ''];
  if (!rule) throw new InvalidArgumentError('rule', `unknown rule '${name}'`, `known rules: ${Object.keys(RULES).join(', ')}`);
  return rule;
}

export type { Rule, RuleContext, PropagationForm } from './types.js';
