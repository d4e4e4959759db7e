/**
 * Standing check of issue 10: a seeded fuzz of the model reader and compiler. Mutations of the bundled models (bytes
 * and protobuf structure) run in child processes with a time limit per case; any exception that is not an XsysError,
 * any hang and any crash fails the test. `npm run fuzz` runs the long version (20,000 cases).
 */
import { describe, expect, it } from 'vitest';

import { runFuzz, summary } from '../fuzz/runner.js';

describe('model reader + compiler fuzz', () => {
  it('1,000 seeded mutations: only xsys errors, no hangs, no crashes', async () => {
    const report = await runFuzz({ seed: 20261202, cases: 1000, workers: 2, batch: 125, caseTimeoutMs: 30_000 });
    console.log(summary(report));
    expect(report.foreign, summary(report)).toEqual([]);
    expect(report.hangs).toEqual([]);
    expect(report.crashes).toEqual([]);
    // The mutations must reach the compiler, not only the parser.
    expect(report.ok).toBeGreaterThan(50);
    expect(report.ok + report.xsysErrors).toBe(1000);
  }, 300_000);
});
