/**
 * Checks a job's raw parameters against the bounds its published JSON schema declares (type, integer, minimum,
 * maximum, enum, maxLength, no unknown names). The jobs route validates only the request's envelope, so each kind
 * checks its own parameters; this keeps the published schema and the enforced bounds one declaration.
 */
import { InvalidArgumentError } from '../errors.js';

interface PropSchema {
  type?: string;
  minimum?: number;
  maximum?: number;
  enum?: readonly unknown[];
  maxLength?: number;
}

export function checkBounds(raw: Record<string, unknown>, schema: { properties: Record<string, PropSchema>; required?: readonly string[] }): void {
  for (const name of schema.required ?? []) if (raw[name] === undefined) throw new InvalidArgumentError(name, 'is required');
  for (const [name, v] of Object.entries(raw)) {
    const s = schema.properties[name];
    if (!s) throw new InvalidArgumentError(name, 'is not a parameter of this job kind', `parameters: ${Object.keys(schema.properties).join(', ')}`);
    if (v === undefined) continue;
    if (s.type === 'integer' || s.type === 'number') {
      if (typeof v !== 'number' || !Number.isFinite(v) || (s.type === 'integer' && !Number.isInteger(v))) throw new InvalidArgumentError(name, `must be ${s.type === 'integer' ? 'an integer' : 'a number'}, got ${JSON.stringify(v)}`);
      if ((s.minimum !== undefined && v < s.minimum) || (s.maximum !== undefined && v > s.maximum)) throw new InvalidArgumentError(name, `must be ${s.minimum ?? '−∞'}–${s.maximum ?? '∞'}, got ${v}`);
    }
    if (s.type === 'string') {
      if (typeof v !== 'string') throw new InvalidArgumentError(name, `must be a string, got ${JSON.stringify(v)}`);
      if (s.maxLength !== undefined && v.length > s.maxLength) throw new InvalidArgumentError(name, `is longer than ${s.maxLength} characters`);
    }
    if (s.enum && !s.enum.includes(v)) throw new InvalidArgumentError(name, `must be one of ${s.enum.join(', ')}, got ${JSON.stringify(v)}`);
  }
}
