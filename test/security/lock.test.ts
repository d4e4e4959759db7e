/**
 * Issue 10, defect 9: a lock file whose pid now belongs to a live, unrelated process (pids are reused after a reboot)
 * must not block start-up silently. On Linux the lock records the owner's start time, so a reused pid is stale; a
 * lock without one (older xsys, or no /proc) is refused with a message that names the lock file and what to do.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { XsysError } from '../../src/errors.js';
import { lockDataDir } from '../../src/server/lock.js';

const root = mkdtempSync(join(tmpdir(), 'xsys-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const linux = existsSync('/proc/self/stat');

describe('data directory lock', () => {
  it('records its pid and start time, and a second lock on the same directory is refused naming the file', () => {
    const dir = mkdtempSync(join(root, 'a-'));
    const lock = lockDataDir(dir);
    const [pid, start] = readFileSync(join(dir, 'serve.lock'), 'utf8').split('\n');
    expect(Number(pid)).toBe(process.pid);
    if (linux) expect(start).toMatch(/^\d+$/);
    lock.release();
    expect(existsSync(join(dir, 'serve.lock'))).toBe(false);
  });

  it.runIf(linux)('takes over a lock whose pid is alive but started at another time (a reused pid)', () => {
    const dir = mkdtempSync(join(root, 'b-'));
    // pid 1 is always alive and never an xsys server; the recorded start time is not its start time.
    writeFileSync(join(dir, 'serve.lock'), '1\n123456789012\n');
    const lock = lockDataDir(dir);
    expect(Number.parseInt(readFileSync(join(dir, 'serve.lock'), 'utf8'), 10)).toBe(process.pid);
    lock.release();
  });

  it('refuses a lock held by a live pid it cannot tell apart, saying which file to delete', () => {
    const dir = mkdtempSync(join(root, 'c-'));
    writeFileSync(join(dir, 'serve.lock'), '1');
    let err: unknown;
    try {
      lockDataDir(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(XsysError);
    expect((err as XsysError).message).toContain(`locked by process 1 (lock file ${join(dir, 'serve.lock')})`);
    expect((err as XsysError).hint).toContain(`delete ${join(dir, 'serve.lock')}`);
  });
});
