export { COMPOSITE_CHOICES, COMPOSITE_NAMES, DEFAULT_COMPOSITE, NAMED_COMPOSITES, namedComposite, ZENNIT_PREFIX } from './named.js';
export { compositeDeclarations, compositeParams, type CompositeDeclaration } from './params.js';
export { parseComposite } from './user.js';
export { assignRules, type RuleAssignment } from './resolve.js';
export type { Composite, CompositeEntry, Matcher } from './types.js';
