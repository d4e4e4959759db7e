/**
 * Explanation-method specs as the CLI takes them: `name[:composite][(k=v,k=v)]`, comma-separated, e.g.
 * `lrp:epsilon-plus-flat,gradient,occlusion(window=4,stride=2),smoothgrad(samples=10)`.
 */
import { InvalidArgumentError } from '../errors.js';
import { COMPOSITE_CHOICES, DEFAULT_COMPOSITE } from '../composites/index.js';
import { METHOD_NAMES, type MethodName, type MethodSpec } from '../methods/types.js';

/** A MethodSpec parsed and checked, with the spec as written as its label (evaluation reports name methods by it). */
export interface LabelledMethod extends MethodSpec {
  /** The spec as written (used as the method's label in reports). */
  id: string;
  method: MethodName;
  params: Record<string, number>;
}

/** Splits on commas outside parentheses. */
function splitTop(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of list) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter(Boolean);
}

export function parseMethodSpec(spec: string): LabelledMethod {
  const m = /^([a-z-]+)(?::([\w./-]+))?(?:\((.*)\))?$/.exec(spec.trim());
  if (!m) throw new InvalidArgumentError('--methods', `'${spec}' is not of the form name[:composite][(k=v,...)]`, 'e.g. lrp:epsilon-plus-flat, gradient, occlusion(window=4)');
  const method = m[1] as MethodName;
  if (!METHOD_NAMES.includes(method)) throw new InvalidArgumentError('--methods', `unknown method '${m[1]}'`, `methods: ${METHOD_NAMES.join(', ')}`);
  if (m[2] !== undefined && method !== 'lrp') throw new InvalidArgumentError('--methods', `'${spec}': only lrp takes a composite`);
  const params: Record<string, number> = {};
  for (const item of m[3] ? m[3].split(',') : []) {
    const kv = /^\s*([A-Za-z_][\w-]*)\s*=\s*(\S+)\s*$/.exec(item);
    const v = kv ? Number(kv[2]) : NaN;
    if (!kv || !Number.isFinite(v)) throw new InvalidArgumentError('--methods', `'${spec}': parameter '${item}' is not name=number`);
    params[kv[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  }
  const composite = method === 'lrp' ? (m[2] ?? DEFAULT_COMPOSITE) : undefined;
  if (composite && !COMPOSITE_CHOICES.includes(composite) && !composite.endsWith('.json')) {
    throw new InvalidArgumentError('--methods', `unknown LRP composite '${composite}'`, `composites: ${COMPOSITE_CHOICES.join(', ')}, or a JSON file`);
  }
  return { id: spec.trim(), method, composite, params };
}

export function parseMethodList(list: string): LabelledMethod[] {
  const specs = splitTop(list).map(parseMethodSpec);
  if (specs.length === 0) throw new InvalidArgumentError('--methods', 'no method given', `methods: ${METHOD_NAMES.join(', ')}`);
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.id)) throw new InvalidArgumentError('--methods', `'${s.id}' is listed twice`);
    seen.add(s.id);
  }
  return specs;
}
