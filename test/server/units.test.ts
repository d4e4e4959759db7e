/** Unit tests of the service's building blocks: auth parsing, problem mapping, preprocessing defaults, datasets, jobs. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

import { FileFormatError, InputDataError, InvalidArgumentError, RuntimeFailure, UnsupportedNodeError, XsysError } from '../../src/errors.js';
import { encodeNpy } from '../../src/io/npy.js';
import { INTERRUPTED, JobRunner, type JobEvent } from '../../src/jobs/runner.js';
import type { JobHandler } from '../../src/jobs/types.js';
import { isLoopback, parseTokens } from '../../src/server/auth.js';
import { DatasetRegistry, renderSample } from '../../src/services/datasets.js';
import { preprocessFromShape } from '../../src/services/models.js';
import { HttpProblem, toProblem } from '../../src/server/problem.js';
import { StoreError } from '../../src/store/errors.js';
import { newId } from '../../src/store/ids.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const tmp = mkdtempSync(join(tmpdir(), 'xsys-units-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('auth helpers', () => {
  it('parses token lists with roles', () => {
    const a = 'a'.repeat(16);
    const b = 'b'.repeat(20);
    expect(parseTokens([`${a}:read, ${b}`, `${b}x:write`])).toEqual([
      { token: a, role: 'read' },
      { token: b, role: 'write' },
      { token: `${b}x`, role: 'write' },
    ]);
    // A colon that is not a role suffix stays part of the token.
    expect(parseTokens([`${a}:admin`])).toEqual([{ token: `${a}:admin`, role: 'write' }]);
    expect(() => parseTokens(['short:read'])).toThrow(InvalidArgumentError);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '192.168.1.2', '10.0.0.1'].some(isLoopback)).toBe(false);
  });
});

describe('toProblem', () => {
  it('maps every error family to a status, keeping node and hint', () => {
    const cases: [unknown, number][] = [
      [new HttpProblem(409, 'x', 'X', 'conflict'), 409],
      [new StoreError('full', 'disk full'), 507],
      [new StoreError('io', 'io'), 500],
      [new FileFormatError('m.onnx', 'truncated'), 400],
      [new InvalidArgumentError('--target', 'bad'), 400],
      [new InputDataError('NaN'), 422],
      [new RuntimeFailure('ort'), 500],
      [new XsysError('unsupported model', { exitCode: 3 }), 422],
      [Object.assign(new Error('too big'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }), 413],
      [Object.assign(new Error('body/x must be string'), { validation: [{}], validationContext: 'body' }), 400],
      [new TypeError('boom'), 500],
    ];
    for (const [err, status] of cases) expect(toProblem(err, '/api/x').status).toBe(status);
    const p = toProblem(new UnsupportedNodeError('conv_7', 'FancyOp', 'no rule', 'map it to pass'), '/api/models');
    expect(p).toEqual({ type: 'https://xsys.dev/problems/unsupported-node', title: 'Unsupported node', status: 422, detail: "node 'conv_7' (FancyOp): no rule", instance: '/api/models', node: 'conv_7', hint: 'map it to pass' });
    expect(toProblem(new TypeError('boom')).detail).toContain('boom');
  });
});

describe('preprocessFromShape', () => {
  it('reads image size and greyscale off NCHW shapes only', () => {
    expect(preprocessFromShape(['batch', 1, 28, 28])).toEqual({ size: [28, 28], grayscale: true });
    expect(preprocessFromShape([1, 3, 224, 224])).toEqual({ size: [224, 224] });
    expect(preprocessFromShape(['n', 3, 'h', 'w'])).toEqual({});
    expect(preprocessFromShape(['batch', 16])).toEqual({});
  });
});

describe('DatasetRegistry', () => {
  it('serves samples of a .npy dataset and renders them back to pixels', async () => {
    const data = new Float32Array(3 * 4 * 5);
    for (let i = 0; i < data.length; i++) data[i] = ((i % 20) / 19 - 0.5) / 0.25; // pixel/255 = i/19, normalised
    writeFileSync(join(tmp, 'd.npy'), encodeNpy(data, [3, 1, 4, 5]));
    const reg = new DatasetRegistry();
    expect(await reg.register({ name: 'tiny', npy: join(tmp, 'd.npy'), preprocess: { mean: [0.5], std: [0.25] } })).toEqual({ name: 'tiny', count: 3, shape: [1, 4, 5], preprocess: { mean: [0.5], std: [0.25] } });
    const s = reg.sample('tiny', 2);
    expect(s.dims).toEqual([1, 1, 4, 5]);
    expect(Array.from(s.data)).toEqual(Array.from(data.subarray(40, 60)));
    const png = await reg.png('tiny', 2);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([5, 4, 1]);
    const px = await sharp(png).extractChannel(0).raw().toBuffer();
    expect(Array.from(px)).toEqual(Array.from({ length: 20 }, (_, i) => Math.round((i / 19) * 255)));
    // A batch of chosen samples, in the order asked, copied from the dataset's array.
    const b = reg.batch('tiny', [2, 0]);
    expect(b.dims).toEqual([2, 1, 4, 5]);
    expect(Array.from(b.data)).toEqual([...data.subarray(40, 60), ...data.subarray(0, 20)]);
    expect(() => reg.batch('tiny', [0, 3])).toThrow(/samples 0–2/);
    expect(() => reg.sample('tiny', 3)).toThrow(/samples 0–2/);
    expect(() => reg.sample('nope', 0)).toThrow(/no dataset named 'nope'/);
    await expect(reg.register({ name: '../x', npy: join(tmp, 'd.npy') })).rejects.toThrow(InvalidArgumentError);
    await expect(reg.register({ name: 'missing', npy: join(tmp, 'none.npy') })).rejects.toThrow(FileFormatError);
  });

  it('stretches samples of unknown normalisation to the full range, and refuses non-image shapes', async () => {
    const png = await renderSample({ data: new Float32Array([-3, 0, 3, 1]), dims: [1, 2, 2] }, {});
    const data = await sharp(png).extractChannel(0).raw().toBuffer();
    expect(Array.from(data)).toEqual([0, 128, 255, 170]);
    await expect(renderSample({ data: new Float32Array(16), dims: [1, 16] }, {})).rejects.toThrow(/no image form/);
  });
});

describe('JobRunner', () => {
  const handler = (kind: string, resumable: boolean, log: string[]): JobHandler => ({
    kind,
    description: 'test kind',
    paramsSchema: {},
    resumable,
    prepare: async (p) => ({ params: p, total: Number(p.n) }),
    run: async (ctx, p) => {
      log.push(`${ctx.job.id} from ${ctx.job.progress.done} resumed=${ctx.resumed}`);
      for (let i = ctx.job.progress.done; i < Number(p.n); i++) await ctx.progress(i + 1, Number(p.n));
    },
  });

  it('runs registered kinds, and on start-up resumes or fails jobs a crash left running', async () => {
    const dir = join(tmp, 'jobs');
    const store = SqliteStore.open({ dir });
    const now = new Date().toISOString();
    const mk = async (kind: string, state: 'running' | 'queued', attempts: number, done = 1) =>
      (await store.jobs.create({ id: newId(), kind, params: { n: 3 }, state, progress: { done, total: 3 }, resultIds: [], attempts, createdAt: now, updatedAt: now })).id;
    const resumable = await mk('count', 'running', 1);
    const oneShot = await mk('once', 'running', 1);
    const unknown = await mk('gone', 'running', 1);
    const tooOften = await mk('count', 'running', 3);
    const queued = await mk('count', 'queued', 0, 0);

    const log: string[] = [];
    const runner = new JobRunner(store);
    runner.register(handler('count', true, log));
    runner.register(handler('once', false, log));
    const rec = await runner.recover();
    expect(rec.resumed).toEqual([resumable]);
    expect(rec.failed.sort()).toEqual([oneShot, unknown, tooOften].sort());
    const settle = async (id: string) => {
      for (;;) {
        const j = (await store.jobs.get(id))!;
        if (j.state !== 'queued' && j.state !== 'running') return j;
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    expect(await settle(resumable)).toMatchObject({ state: 'done', progress: { done: 3 }, attempts: 2 });
    expect(await settle(queued)).toMatchObject({ state: 'done', progress: { done: 3 }, attempts: 1 });
    expect(log).toContain(`${resumable} from 1 resumed=true`);
    expect(log).toContain(`${queued} from 0 resumed=false`);
    expect((await store.jobs.get(oneShot))!.error).toBe(`${INTERRUPTED}; 'once' jobs cannot resume`);
    expect((await store.jobs.get(unknown))!.error).toMatch(/kind 'gone' is not available/);
    expect((await store.jobs.get(tooOften))!.error).toBe(`${INTERRUPTED} 3 times; not resumed again`);

    const fresh = await runner.submit('count', { n: 2 });
    expect(await settle(fresh.id)).toMatchObject({ state: 'done', progress: { done: 2, total: 2 } });
    await expect(runner.submit('no-such-kind', {})).rejects.toThrow(/unknown job kind 'no-such-kind'/);
    await runner.stop();
    await store.close();
  });
});

describe('JobRunner when the store fails', () => {
  it('a job whose writes fail (full disk) fails with the reason; subscribers get the terminal event even while the store refuses to record it, and the stored state follows once space is back', async () => {
    const store = SqliteStore.open({ dir: join(tmp, 'jobs-fail') });
    const runner = new JobRunner(store, { recordRetryMs: 20 });
    let full = false;
    const realUpdate = store.jobs.update;
    (store.jobs as { update: typeof realUpdate }).update = async (id, patch) => {
      if (full) throw new StoreError('full', "cannot store job: no space left on the data directory's disk");
      return realUpdate(id, patch);
    };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // The job writes progress after the gate: with the disk full, that write fails the job.
    runner.register({ kind: 'wait', description: '', paramsSchema: {}, resumable: true, prepare: async (p) => ({ params: p, total: 1 }), run: async (ctx) => gate.then(() => ctx.progress(1, 1)) });
    const job = await runner.submit('wait', {});
    for (let i = 0; i < 100 && (await store.jobs.get(job.id))!.state !== 'running'; i++) await new Promise((r) => setTimeout(r, 5));
    const events: JobEvent[] = [];
    const terminal = new Promise<void>((resolve) => runner.subscribe(job.id, (e) => (events.push(e), e.event === 'failed' && resolve())));
    full = true;
    const written: string[] = [];
    const origWrite = process.stderr.write.bind(process.stderr);
    (process.stderr as { write: unknown }).write = (s: string) => (written.push(String(s)), true);
    try {
      release();
      await terminal;
    } finally {
      (process.stderr as { write: unknown }).write = origWrite;
    }
    expect(events.at(-1)).toMatchObject({ event: 'failed', job: { id: job.id, state: 'failed', error: expect.stringMatching(/no space left/) } });
    expect(written.join('')).toContain(`could not record the outcome of job ${job.id}`);
    // Still refused: the store keeps 'running' for now; space back: the failure is written.
    expect((await store.jobs.get(job.id))!.state).toBe('running');
    full = false;
    let stored = (await store.jobs.get(job.id))!;
    for (let i = 0; i < 200 && stored.state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 10));
      stored = (await store.jobs.get(job.id))!;
    }
    expect(stored).toMatchObject({ state: 'failed', error: expect.stringMatching(/no space left/) });
    await runner.stop();
    await store.close();
  });
});

describe('storeFailure', () => {
  it('classifies full disks from the file system and from SQLite, and names what was being stored', async () => {
    const { storeFailure } = await import('../../src/store/errors.js');
    for (const code of ['ENOSPC', 'SQLITE_FULL', 'EDQUOT']) {
      const e = storeFailure('result 01X', Object.assign(new Error('x'), { code }));
      expect(e.reason).toBe('full');
      expect(e.message).toBe('cannot store result 01X: no space left on the data directory\'s disk');
    }
    const io = storeFailure('artefact', Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }));
    expect(io.reason).toBe('io');
    expect(io.message).toContain('permission denied');
  });
});
