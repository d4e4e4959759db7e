/** Shared set-up of the service tests: a workbench on a real SQLite store in a fresh temp dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildServer, type ServerOptions, type Workbench } from '../../src/server/app.js';
import type { FileOps } from '../../src/store/artefact-files.js';
import { SqliteStore } from '../../src/store/sqlite.js';

export interface TestBench extends Workbench {
  dir: string;
  store: SqliteStore;
  dispose(): Promise<void>;
}

export async function startBench(options: Partial<ServerOptions> & { fileOps?: FileOps; dir?: string } = {}): Promise<TestBench> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'xsys-server-'));
  const store = SqliteStore.open({ dir, fileOps: options.fileOps });
  const wb = await buildServer({ webRoot: null, ...options, store });
  return {
    ...wb,
    dir,
    store,
    async dispose() {
      await wb.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bundled MNIST model's id (sha256 of examples/mnist/mnist-cnn.onnx). */
export async function bundledModelId(wb: Workbench): Promise<string> {
  const models = await wb.context.store.models.list();
  const m = models.find((x) => x.name === 'mnist-cnn.onnx');
  if (!m) throw new Error('bundled model missing');
  return m.id;
}

/**
 * Checks a value against one of the published OpenAPI component schemas (the subset of JSON Schema they use:
 * type, required, properties, items, enum, pattern, anyOf, $ref). Returns the list of violations.
 */
export function violations(schema: Record<string, unknown>, value: unknown, components: Record<string, Record<string, unknown>>, path = '$'): string[] {
  if (typeof schema.$ref === 'string') return violations(components[schema.$ref.split('/').pop()!]!, value, components, path);
  if (Array.isArray(schema.anyOf)) {
    const ok = (schema.anyOf as Record<string, unknown>[]).some((s) => violations(s, value, components, path).length === 0);
    return ok ? [] : [`${path}: matches none of anyOf`];
  }
  const out: string[] = [];
  if ('const' in schema && value !== schema.const) out.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    const ok = types.some((t) => t === actual || (t === 'integer' && Number.isInteger(value)) || (t === 'number' && typeof value === 'number'));
    if (!ok) return [`${path}: expected ${types.join('|')}, got ${actual}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) out.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (typeof schema.pattern === 'string' && typeof value === 'string' && !new RegExp(schema.pattern).test(value)) out.push(`${path}: '${value}' does not match ${schema.pattern}`);
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const k of (schema.required as string[] | undefined) ?? []) if (!(k in value)) out.push(`${path}: missing '${k}'`);
    for (const [k, s] of Object.entries((schema.properties as Record<string, Record<string, unknown>> | undefined) ?? {})) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out.push(...violations(s, v, components, `${path}.${k}`));
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => out.push(...violations(schema.items as Record<string, unknown>, v, components, `${path}[${i}]`)));
  return out;
}
