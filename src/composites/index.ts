export { COMPOSITE_NAMES, NAMED_COMPOSITES, namedComposite } from './named.js';
export { parseComposite } from './user.js';
export { assignRules, type RuleAssignment } from './resolve.js';
export type { Composite, CompositeEntry, Matcher } from './types.js';
