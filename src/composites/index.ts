import { existsSync } from 'node:fs';
import { loadCompositeFile } from './user.js';
import { namedComposite } from './named.js';
import type { Composite } from './types.js';

/** A composite by name, or from a JSON file when the argument is a path to one. */
export function resolveComposite(nameOrPath: string, params: Record<string, number> = {}): Composite {
  if (nameOrPath.endsWith('.json') || (nameOrPath.includes('/') && existsSync(nameOrPath))) return loadCompositeFile(nameOrPath);
  return namedComposite(nameOrPath, params);
}

export { COMPOSITE_NAMES, NAMED_COMPOSITES, namedComposite } from './named.js';
export { parseComposite, loadCompositeFile } from './user.js';
export { assignRules, type RuleAssignment } from './resolve.js';
export type { Composite, CompositeEntry, Matcher } from './types.js';
