import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { runConformance, type ConformanceReport } from '../src/conformance/run.js';

const MANIFEST = 'test/fixtures/transformer-conformance/manifest.json';
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { tolerance: { relative_linf: number }; cases: { id: string }[] };
const ids = manifest.cases.map((c) => c.id);

describe('transformer conformance (AttnLRP / CP-LRP references, LXT semantics)', () => {
  let report: ConformanceReport;
  beforeAll(async () => {
    report = await runConformance(MANIFEST);
  });

  it('runs every case of the manifest', () => {
    expect(ids.length).toBe(4);
    expect(report.cases.map((c) => c.id)).toEqual(ids);
  });

  it.each(ids)('%s', (id) => {
    const r = report.cases.find((c) => c.id === id)!;
    expect(r.error).toBeUndefined();
    expect(r.relativeError).toBeLessThanOrEqual(manifest.tolerance.relative_linf);
    expect(r.pass).toBe(true);
  });
});
