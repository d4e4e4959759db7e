/**
 * One server per data directory. Two servers on one store would both run its job queue — the second would take the
 * first's running jobs for interrupted ones and run them again. The lock is a file holding the owner's pid, created
 * exclusively; a lock left by a process that no longer exists (a crash, SIGKILL) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { XsysError } from '../errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DirLock {
  release(): void;
}

export function lockDataDir(dir: string): DirLock {
  const path = join(dir, 'serve.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return {
        release: () => {
          try {
            if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new XsysError(`cannot lock the data directory ${dir}: ${(err as Error).message}`, { hint: 'check that it is writable' });
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new XsysError(`another xsys serve (pid ${owner}) is using the data directory ${dir}`, { hint: 'stop it, or start this one with another --data-dir' });
      }
      unlinkSync(path); // stale: its owner is gone
    }
  }
  throw new XsysError(`cannot lock the data directory ${dir}`, { hint: 'another server is starting on it at the same time' });
}
