/**
 * `xsys worker`: a queue worker for `xsys serve --queue`. It computes shards of dataset jobs from BullMQ on Redis,
 * fetching model and dataset bytes from the server by hash and delivering results to it (it never writes a store).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

import type { Command } from 'commander';

import { InvalidArgumentError } from '../errors.js';
import { checkRedisUrl } from '../queue/redis.js';
import { ShardWorker } from '../queue/worker.js';

interface WorkerFlags {
  queue?: string;
  server: string;
  token?: string;
  threads?: string;
  concurrency: string;
  cacheDir?: string;
  stallTimeout: string;
}

function positiveInt(flag: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(flag, `'${value}' is not an integer 1–${max}`);
  return n;
}

export function registerWorker(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('worker')
    .description('process shards of dataset jobs from the queue of an `xsys serve --queue` server (start one per machine, or several)')
    .option('--queue <redis-url>', 'the Redis the server queues on, e.g. redis://10.0.0.5:6379 [default: $XSYS_QUEUE]')
    .option('--server <url>', 'the xsys server (model/dataset bytes, result delivery) [default: $XSYS_SERVER or http://127.0.0.1:7860]')
    .option('--token <token>', 'write token of the server [default: $XSYS_TOKEN]')
    .option('--threads <n>', 'ONNX Runtime threads per explanation (default: all cores)')
    .option('--concurrency <n>', 'shards processed at the same time', '1')
    .option('--cache-dir <dir>', 'where fetched models and datasets are cached, by hash [default: ~/.cache/xsys]')
    .option('--stall-timeout <s>', 'a shard whose worker stops responding this long is retried elsewhere', '30')
    .action((flags: WorkerFlags) =>
      run(async () => {
        const queueUrl = flags.queue ?? process.env.XSYS_QUEUE;
        if (!queueUrl) throw new InvalidArgumentError('--queue', 'is required (or set XSYS_QUEUE)', 'e.g. --queue redis://127.0.0.1:6379');
        const server = flags.server ?? process.env.XSYS_SERVER ?? 'http://127.0.0.1:7860';
        if (!/^https?:\/\/\S+$/.test(server)) throw new InvalidArgumentError('--server', `'${server}' is not an http(s) URL`);
        const threads = positiveInt('--threads', flags.threads, 256);
        const concurrency = positiveInt('--concurrency', flags.concurrency, 64)!;
        const stall = Number(flags.stallTimeout);
        if (!(stall >= 1 && stall <= 3600)) throw new InvalidArgumentError('--stall-timeout', `'${flags.stallTimeout}' is not 1–3600 seconds`);
        const worker = await ShardWorker.start({
          queue: checkRedisUrl(queueUrl, '--queue'),
          server,
          token: flags.token ?? process.env.XSYS_TOKEN,
          threads,
          concurrency,
          cacheDir: resolve(flags.cacheDir ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'xsys')),
          lockDurationMs: Math.round(stall * 1000),
        });
        process.stdout.write(`xsys worker ${worker.id} ready (server ${server}, concurrency ${concurrency}${threads ? `, ${threads} thread(s)` : ''})\n`);
        await new Promise<void>((done) => {
          process.once('SIGINT', () => done());
          process.once('SIGTERM', () => done());
        });
        process.stdout.write('worker stopping: finishing running shards\n');
        await worker.close();
        return 0;
      }),
    );
}
