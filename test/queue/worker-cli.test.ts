/** `xsys worker` and `xsys serve --queue` end to end: bad input and unreachable services are clear errors with exit codes. */
import { rmSync } from 'node:fs';

import { beforeAll, describe, expect, it } from 'vitest';

import { ensureDist, xsys } from '../helpers/cli.js';
import { freePort, skipReason, startRedis } from '../helpers/services.js';

beforeAll(() => ensureDist(), 180_000);

describe('xsys worker (CLI)', async () => {
  it('documents its options', async () => {
    const r = await xsys('worker', '--help');
    expect(r.code).toBe(0);
    for (const flag of ['--queue', '--server', '--token', '--threads', '--concurrency', '--cache-dir', '--stall-timeout']) expect(r.stdout).toContain(flag);
  });

  it('refuses a missing or malformed --queue and bad numbers, without a stack trace', async () => {
    const none = await xsys('worker');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--queue.*required/);
    const bad = await xsys('worker', '--queue', 'http://127.0.0.1:6379');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'http:\/\/127\.0\.0\.1:6379' is not a Redis URL/);
    const threads = await xsys('worker', '--queue', 'redis://127.0.0.1:1', '--threads', '0');
    expect(threads.code).toBe(2);
    expect(threads.stderr).toMatch(/--threads.*'0' is not an integer 1–256/);
    for (const r of [none, bad, threads]) expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('Redis down at start: worker and server fail with a clear message and exit code 3', async () => {
    const port = await freePort();
    const w = await xsys('worker', '--queue', `redis://127.0.0.1:${port}`);
    expect(w.code).toBe(3);
    expect(w.stderr).toMatch(new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}`));
    expect(w.stderr).toMatch(/hint: start redis-server/);
    const s = await xsys('serve', '--port', '0', '--no-example', '--data-dir', `/tmp/xsys-qcli-${port}`, '--queue', `redis://127.0.0.1:${port}`);
    expect(s.code).toBe(3);
    expect(s.stderr).toMatch(/cannot reach Redis/);
    rmSync(`/tmp/xsys-qcli-${port}`, { recursive: true, force: true });
    const size = await xsys('serve', '--port', '0', '--shard-size', '10', '--data-dir', `/tmp/xsys-qcli-${port}`);
    expect(size.code).toBe(2);
    expect(size.stderr).toMatch(/--shard-size.*only applies with --queue/);
  });

  it.skipIf(skipReason('redis') !== undefined)('a server that is not there is a clear error (exit 3)', async () => {
    const redis = await startRedis();
    try {
      const r = await xsys('worker', '--queue', redis.url, '--server', `http://127.0.0.1:${await freePort()}`);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/cannot reach the xsys server at http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await redis.stop();
    }
  });
});
