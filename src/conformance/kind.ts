import { readFile } from 'node:fs/promises';
import { isMetricsManifestJson } from './metrics.js';
import { isCrpManifestJson } from './crp.js';
import { isCrpReferencesManifestJson } from './crp-references.js';

/** Which runner a conformance manifest is for. */
export type ManifestKind = 'explanations' | 'metrics' | 'crp' | 'crp-references';

/**
 * Recognises a manifest by the shape of its cases; unreadable files count as 'explanations', whose runner reports
 * the read error with the file name.
 */
export async function manifestKind(path: string): Promise<ManifestKind> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return 'explanations';
  }
  if (isMetricsManifestJson(json)) return 'metrics';
  if (isCrpManifestJson(json)) return 'crp';
  if (isCrpReferencesManifestJson(json)) return 'crp-references';
  return 'explanations';
}
