/**
 * One server per data directory. Two servers on one store would both run its job queue — the second would take the
 * first's running jobs for interrupted ones and run them again. The lock is a file holding the owner's pid, created
 * exclusively; a lock left by a process that no longer exists (a crash, SIGKILL) is taken over. After a reboot the
 * recorded pid may belong to an unrelated live process: on Linux the lock also records the process's start time
 * (/proc/<pid>/stat), so a reused pid is recognised as stale; elsewhere the refusal names the lock file to remove.
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

/** A process's start time in clock ticks since boot (Linux), or undefined where /proc cannot tell. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) is in parentheses and may contain spaces, so count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the lock's owner is still the process that wrote it (not a later process that got the same pid). */
function ownerAlive(pid: number, recordedStart: string | undefined): boolean {
  if (!alive(pid)) return false;
  const now = startTime(pid);
  return recordedStart === undefined || now === undefined || now === recordedStart;
}

export interface DirLock {
  release(): void;
}

export function lockDataDir(dir: string): DirLock {
  const path = join(dir, 'serve.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n${startTime(process.pid) ?? ''}\n`);
      closeSync(fd);
      return {
        release: () => {
          try {
            if (Number.parseInt(readFileSync(path, 'utf8'), 10) === process.pid) unlinkSync(path);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new XsysError(`cannot lock the data directory ${dir}: ${(err as Error).message}`, { hint: 'check that it is writable' });
      const [pidText, recorded] = readFileSync(path, 'utf8').split('\n');
      const owner = Number.parseInt(pidText ?? '', 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && ownerAlive(owner, recorded || undefined)) {
        throw new XsysError(`the data directory ${dir} is locked by process ${owner} (lock file ${path}), which is still running`, {
          hint: `if that is another xsys serve, stop it or start this one with another --data-dir; if it is not (the pid was reused after a restart), delete ${path} and start again`,
        });
      }
      unlinkSync(path); // stale: its owner is gone
    }
  }
  throw new XsysError(`cannot lock the data directory ${dir}`, { hint: 'another server is starting on it at the same time' });
}
