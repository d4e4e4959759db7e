/**
 * Node-only composite loading: user-defined composites from JSON files. Kept apart from the rest of src/composites so
 * the compiler core stays free of node:fs and runs in the browser.
 */
import { existsSync, readFileSync } from 'node:fs';
import { FileFormatError, InvalidArgumentError } from '../errors.js';
import { namedComposite } from './named.js';
import type { Composite } from './types.js';
import { parseComposite } from './user.js';

/**
 * A composite by name, or from a JSON file when the argument is a path to one; a composite object (built by the
 * caller, e.g. a tuning grid's) is used as it is. A file's rules carry their own parameters, so parameters given
 * beside a file are an error rather than silently ignored.
 */
export function resolveComposite(nameOrPath: string | Composite, params: Record<string, number> = {}): Composite {
  if (typeof nameOrPath === 'object') return nameOrPath;
  if (nameOrPath.endsWith('.json') || (nameOrPath.includes('/') && existsSync(nameOrPath))) {
    const given = Object.keys(params);
    if (given.length) throw new InvalidArgumentError('--param', `${given.join(', ')}: composite file '${nameOrPath}' takes no parameters`, 'set them in the file\'s entries, e.g. "params": { "epsilon": 0.01 }');
    return loadCompositeFile(nameOrPath);
  }
  return namedComposite(nameOrPath, params);
}

export function loadCompositeFile(path: string): Composite {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new FileFormatError(path, `cannot read composite file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(path, `not valid JSON (${(e as Error).message})`);
  }
  return parseComposite(value, path);
}
