/**
 * `npm run fuzz [-- --cases N --seed S --workers W]`: the long run of the model reader/compiler fuzz test (the test
 * suite runs a short one). Exits 1 on any foreign exception, hang or crash; replay a case with --seed S --from i --cases 1.
 */
import { runFuzz, summary } from '../test/fuzz/runner.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

const cases = arg('cases', 20_000);
let last = 0;
const report = await runFuzz({
  seed: arg('seed', 1),
  cases,
  first: arg('from', 0),
  workers: arg('workers', 2),
  batch: arg('batch', 200),
  caseTimeoutMs: arg('timeout', 20_000),
  onProgress: (done, total) => {
    if (done - last >= 1000 || done === total) {
      last = done;
      process.stderr.write(`${done}/${total}\n`);
    }
  },
});
console.log(summary(report));
process.exitCode = report.foreign.length + report.hangs.length + report.crashes.length > 0 ? 1 : 0;
