/**
 * End-to-end through the CLI: `xsys serve --store postgres://…` on a throwaway PostgreSQL cluster — a dataset job's
 * results are stored there and outlive a restart; a bad or unreachable store is a clear error with exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist } from '../helpers/cli.js';

import { skipReason, startPostgres, type PostgresServer } from '../helpers/services.js';

const skip = skipReason('postgres');
let server: PostgresServer | undefined;
let tmp: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ensureDist();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-pgserve-'));
  if (!skip) server = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function serve(args: string[]): Promise<{ child: ChildProcess; url: string; out: () => string }> {
  const child = spawn(process.execPath, ['bin/xsys.js', 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve({ child, url: m[1]!, out: () => out });
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`serve exited with ${child.exitCode}: ${err}`));
      }
    }, 50);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

describe.skipIf(skip !== undefined)('xsys serve --store postgres://', () => {
  it('stores a dataset job in PostgreSQL; a restarted server lists it', async () => {
    const url = await server!.createDatabase('serve1');
    const dataDir = join(tmp, 'd1');
    const s = await serve(['--data-dir', dataDir, '--store', url]);
    expect(s.out()).toContain(`store: ${url}`);
    const models = (await (await fetch(`${s.url}/api/models`)).json()) as { id: string }[];
    const res = await fetch(`${s.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'explain-dataset', modelId: models[0]!.id, dataset: 'mnist-samples', method: 'gradient', count: 4 }) });
    expect(res.status).toBe(202);
    const jobId = ((await res.json()) as { id: string }).id;
    let job: { state: string; resultIds: string[] } = { state: 'queued', resultIds: [] };
    for (let t = 0; t < 600 && job.state !== 'done'; t++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await (await fetch(`${s.url}/api/jobs/${jobId}`)).json()) as typeof job;
    }
    expect(job.state).toBe('done');
    expect(job.resultIds).toHaveLength(4);
    await stop(s.child);

    // The rows are in PostgreSQL, not in a SQLite file in the data directory.
    expect(existsSync(join(dataDir, 'xsys.db'))).toBe(false);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const rows = (await client.query('SELECT id FROM results WHERE job_id = $1 ORDER BY id', [jobId])).rows as { id: string }[];
    await client.end();
    expect(rows.map((r) => r.id)).toEqual([...job.resultIds].sort());

    const again = await serve(['--data-dir', dataDir, '--store', url]);
    const listed = (await (await fetch(`${again.url}/api/results?jobId=${jobId}`)).json()) as { id: string; artefacts: { attribution: string } }[];
    expect(listed).toHaveLength(4);
    // Artefacts are served from the data directory's files.
    expect((await fetch(`${again.url}/api/artefacts/${listed[0]!.artefacts.attribution}`)).status).toBe(200);
    await stop(again.child);
  });
});

describe('xsys serve --store errors', () => {
  const run = (args: string[]): Promise<{ code: number | null; err: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['bin/xsys.js', 'serve', '--port', '0', '--no-example', ...args]);
      let err = '';
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.once('exit', (code) => resolve({ code, err }));
    });

  it('an unknown store is a usage error; an unreachable PostgreSQL names the URL without the password', async () => {
    const bad = await run(['--data-dir', join(tmp, 'e1'), '--store', 'mysql://x']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--store.*'mysql:\/\/x' is not a store/);
    const down = await run(['--data-dir', join(tmp, 'e2'), '--store', 'postgres://u:hunter2@127.0.0.1:1/db']);
    expect(down.code).toBe(4);
    expect(down.err).toMatch(/cannot open the PostgreSQL store at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/);
    expect(down.err).not.toContain('hunter2');
    expect(down.err).not.toMatch(/^\s+at /m);
  });
});
