/**
 * Service benchmark: `xsys serve` (a child process, so its RSS is its own) with the bundled MNIST model on loopback.
 *   1. latency of one explain request from a single client (sequential requests after warm-up): p50 / p99;
 *   2. autocannon with 50 concurrent clients for 30 s: throughput, latency under load, errors;
 *   3. the server's RSS before (after a 5 s concurrent warm-up) and after the load.
 * Targets: p50 ≤ 30 ms (1), zero errors (2), RSS growth < 10 % (3).
 *
 *   npm run bench:service                       # builds dist/ first
 *   BENCH_DURATION=10 BENCH_METHOD=gradient npm run bench:service
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

import autocannon from 'autocannon';

import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { mulberry32 as seededRandom } from '../src/seeded-random.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 30);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const METHOD = process.env.BENCH_METHOD ?? 'lrp';
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 300);
const THREADS = process.env.BENCH_THREADS;
const CONCURRENCY = process.env.BENCH_CONCURRENCY;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xsys-bench-service-'));
  const child = spawn(process.execPath, ['bin/xsys.js', 'serve', '--port', '0', '--data-dir', dataDir, ...(THREADS ? ['--threads', THREADS] : []), ...(CONCURRENCY ? ['--concurrency', CONCURRENCY] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`xsys serve exited with ${code}`)));
    });
    const models = (await (await fetch(`${url}/api/models`)).json()) as { id: string }[];
    const modelId = models[0]!.id;
    // Every request a new input: the workbench keeps one record per identical request (History deduplication), so
    // repeating the 8 bundled samples would measure a lookup, not an explanation. Each body is a 28×28 digit-like
    // .npy of its own (a bundled sample plus small seeded noise), so every request computes, renders and stores.
    const samples = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const res = await fetch(`${url}/api/datasets/mnist-samples/samples/${i}?format=npy`);
      if (!res.ok) throw new Error(`sample ${i}: HTTP ${res.status}`);
      return parseNpy(new Uint8Array(await res.arrayBuffer()), 'sample');
    }));
    let counter = 0;
    const nextBody = (): string => {
      const i = counter++;
      const rand = seededRandom(i + 1);
      const base = samples[i % 8];
      const x = new Float32Array(784).map((_, k) => Number(base!.data[k]) + (rand() - 0.5) * 0.01);
      const npy = Buffer.from(encodeNpy(x, [1, 1, 28, 28])).toString('base64');
      return JSON.stringify({ modelId, input: { kind: 'npy', npy }, method: METHOD });
    };
    const explainOnce = async (): Promise<number> => {
      const body = nextBody();
      const t0 = performance.now();
      const res = await fetch(`${url}/api/explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`explain answered ${res.status}`);
      return performance.now() - t0;
    };

    // Warm-up: compiles the explainer, creates sessions, stores every sample's input once.
    for (let i = 0; i < 50; i++) await explainOnce();
    const single: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) single.push(await explainOnce());
    single.sort((a, b) => a - b);
    const rssAfterWarmup = rssMiB(child.pid!);
    // A short concurrent warm-up first: 50 requests in flight need more buffers than one, and that one-off rise to
    // the steady state is not growth. The RSS target compares the steady state before and after the long run.
    const opts = {
      url,
      connections: CONNECTIONS,
      timeout: 30,
      // setupRequest runs for every request, so every request carries a new input.
      requests: [{ method: 'POST', path: '/api/explain', headers: { 'content-type': 'application/json' }, setupRequest: (req: Record<string, unknown>) => ({ ...req, body: nextBody() }) }],
    };
    await autocannon({ ...opts, duration: Math.min(5, DURATION) });
    const rssBefore = rssMiB(child.pid!);

    // RSS once a second during the run: V8 collects the old generation only when it has grown (a sawtooth), so the
    // value at the end depends on where in that cycle the run stops; the samples show the cycle.
    const rssSamples: number[] = [];
    const sampler = setInterval(() => rssSamples.push(rssMiB(child.pid!)), 1000);
    // autocannon's result is a thenable without `finally`: a `.finally(…)` on it throws, which killed the server
    // under load and then waited for it forever.
    let load: Awaited<ReturnType<typeof autocannon>>;
    try {
      load = await autocannon({ ...opts, duration: DURATION });
    } finally {
      clearInterval(sampler);
    }
    const rssAfter = rssMiB(child.pid!);

    const report = {
      date: new Date().toISOString(),
      machine: `${cpus()[0]?.model ?? 'cpu'} ×${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`,
      method: METHOD,
      threads: THREADS ?? 'ORT default',
      concurrency: CONCURRENCY ?? 'default (4 × cores)',
      single: { requests: SEQUENTIAL, p50Ms: percentile(single, 50), p99Ms: percentile(single, 99), meanMs: single.reduce((a, b) => a + b, 0) / single.length },
      load: {
        connections: CONNECTIONS,
        durationS: DURATION,
        requests: load['2xx'] + load.non2xx,
        throughputRps: load.requests.average,
        latencyP50Ms: load.latency.p50,
        latencyP99Ms: load.latency.p99,
        errors: load.errors,
        timeouts: load.timeouts,
        non2xx: load.non2xx,
      },
      rss: { afterSequentialWarmupMiB: rssAfterWarmup, beforeMiB: rssBefore, afterMiB: rssAfter, growthPct: ((rssAfter - rssBefore) / rssBefore) * 100, peakMiB: Math.max(...rssSamples), perSecondMiB: rssSamples.map((v) => Math.round(v)) },
    };
    const ok = {
      p50: report.single.p50Ms <= 30,
      errors: report.load.errors + report.load.timeouts + report.load.non2xx === 0,
      rss: report.rss.growthPct < 10,
    };
    writeFileSync('bench/service-results.json', JSON.stringify({ ...report, targets: ok }, null, 2) + '\n');
    const mark = (b: boolean) => (b ? '✅' : '❌');
    process.stdout.write(
      [
        `machine: ${report.machine}; method ${METHOD}; bundled MNIST CNN; loopback`,
        `single client (${SEQUENTIAL} sequential requests): p50 ${report.single.p50Ms.toFixed(1)} ms, p99 ${report.single.p99Ms.toFixed(1)} ms ${mark(ok.p50)} p50 ≤ 30 ms`,
        `${CONNECTIONS} clients × ${DURATION} s: ${report.load.requests} requests, ${report.load.throughputRps.toFixed(1)} req/s, latency p50 ${report.load.latencyP50Ms} ms, p99 ${report.load.latencyP99Ms} ms, errors ${report.load.errors}, timeouts ${report.load.timeouts}, non-2xx ${report.load.non2xx} ${mark(ok.errors)} zero errors`,
        `server RSS: ${rssAfterWarmup.toFixed(1)} MiB after the sequential warm-up, ${rssBefore.toFixed(1)} MiB after a 5 s concurrent warm-up, ${rssAfter.toFixed(1)} MiB after the run (${report.rss.growthPct >= 0 ? '+' : ''}${report.rss.growthPct.toFixed(1)} %) ${mark(ok.rss)} growth < 10 %; peak ${report.rss.peakMiB.toFixed(1)} MiB; per second: ${report.rss.perSecondMiB.join(' ')}`,
        'wrote bench/service-results.json',
      ].join('\n') + '\n',
    );
  } finally {
    // A server that no longer runs (crashed) or does not stop within 10 s must not hang the benchmark.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:service failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
