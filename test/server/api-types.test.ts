/** The web UI's API types are generated from the service's OpenAPI document; the committed file must be current. */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { API_TYPES_FILE, generateApiTypes, openapiDocument } from '../../scripts/api-types.js';

describe('web API types', () => {
  it(`${API_TYPES_FILE} is what \`npm run gen:api-types\` generates from /openapi.json`, async () => {
    const generated = await generateApiTypes();
    const committed = readFileSync(API_TYPES_FILE, 'utf8');
    // On failure: run `npm run gen:api-types` and commit the result (and fix the web code tsc then complains about).
    expect(committed === generated, 'web/src/services/api-types.ts is stale: run `npm run gen:api-types`').toBe(true);
  });

  it('covers every route the service publishes, with the result record the UI reads', async () => {
    const doc = await openapiDocument();
    const text = await generateApiTypes();
    for (const path of Object.keys(doc.paths ?? {})) expect(text, path).toContain(`"${path}": {`);
    // Fields the History view relies on are typed, not Record<string, never>.
    expect(text).toMatch(/ResultRecord: \{[\s\S]*count\?: number;[\s\S]*inputSource\?:/);
    expect(text).not.toMatch(/params??: Record<string, never>/);
  });
});
