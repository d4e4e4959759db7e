import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, xsys } from '../helpers/cli.js';

beforeAll(() => ensureDist());

describe('xsys conformance with a CRP manifest', () => {
  it('recognises the manifest and passes 6/6', () => {
    const r = xsys('conformance', 'test/fixtures/crp-conformance/manifest.json');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/PASS {2}vggish\/condition-2/);
    expect(r.stdout).toContain('6 passed, 0 failed');
    expect(r.code).toBe(0);
  });
  it('--json reports each case', () => {
    const r = xsys('conformance', 'test/fixtures/crp-conformance/manifest.json', '--json', '--filter', 'resnet');
    const report = JSON.parse(r.stdout) as { passed: number; cases: { id: string; relativeError: number }[] };
    expect(report.passed).toBe(3);
    expect(report.cases.every((c) => c.relativeError < 5e-4)).toBe(true);
  });
  it('recognises a reference-samples manifest and passes 6/6', () => {
    const r = xsys('conformance', 'test/fixtures/crp-conformance/reference-samples/manifest.json');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('6 passed, 0 failed');
    expect(r.code).toBe(0);
  });
});
