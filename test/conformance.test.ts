import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { runConformance, type ConformanceReport } from '../src/conformance/run.js';

const MANIFEST = 'test/fixtures/conformance/manifest.json';
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { tolerance: { relative_linf: number }; cases: { id: string }[] };
const ids = manifest.cases.map((c) => c.id);

describe('conformance fixtures (Zennit / Captum references)', () => {
  let report: ConformanceReport;
  beforeAll(async () => {
    report = await runConformance(MANIFEST);
  });

  it('runs every case of the manifest', () => {
    // 62 cases: five models × their LRP composites and gradient methods (se-stack-mini's stacked sum included).
    expect(ids.length).toBe(62);
    expect(report.cases.map((c) => c.id)).toEqual(ids);
    expect(report.tolerance).toBe(manifest.tolerance.relative_linf);
  });

  it.each(ids)('%s', (id) => {
    const r = report.cases.find((c) => c.id === id)!;
    expect(r, `case ${id} missing from the report`).toBeDefined();
    expect(r.error).toBeUndefined();
    expect(Number.isFinite(r.relativeError)).toBe(true);
    expect(r.relativeError).toBeLessThanOrEqual(r.tolerance);
    expect(r.pass).toBe(true);
  });
});
