/**
 * Runs fuzz cases in worker processes, many cases per process for speed. A case that does not finish within the time
 * limit is a hang (the process is killed), a process that dies during a case is a crash; either way a fresh process
 * continues with the next case. Foreign (non-xsys) exceptions are collected with their stacks.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { ChildMessage, ParentMessage } from './protocol.js';

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** Index of the first case (to replay a range). Default 0. */
  first?: number;
  /** Worker processes at once. */
  workers?: number;
  /** Cases handed to a worker at a time. */
  batch?: number;
  /** A case running longer is a hang. */
  caseTimeoutMs?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  ok: number;
  xsysErrors: number;
  foreign: { index: number; message: string; stack: string }[];
  hangs: number[];
  crashes: { index: number; detail: string }[];
  ms: number;
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const t0 = Date.now();
  const workers = options.workers ?? 2;
  const batch = options.batch ?? 50;
  const timeout = options.caseTimeoutMs ?? 15_000;
  const report: FuzzReport = { seed: options.seed, cases: options.cases, ok: 0, xsysErrors: 0, foreign: [], hangs: [], crashes: [], ms: 0 };
  let next = options.first ?? 0;
  const end = next + options.cases;
  let finished = 0;
  const take = (): [number, number] | undefined => {
    if (next >= end) return undefined;
    const from = next;
    next = Math.min(end, next + batch);
    return [from, next];
  };

  const worker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      let child: ChildProcess;
      let range: [number, number] | undefined;
      let current = -1;
      let timer: NodeJS.Timeout | undefined;
      let stderr = '';
      const finishCase = () => {
        finished++;
        options.onProgress?.(finished, options.cases);
      };
      const runNext = () => {
        range = take();
        if (!range) {
          child.send({ type: 'stop' } satisfies ParentMessage);
          return;
        }
        child.send({ type: 'run', seed: options.seed, from: range[0], to: range[1] } satisfies ParentMessage);
      };
      const spawn = () => {
        stderr = '';
        child = fork(CHILD, [], { execArgv: ['--import', 'tsx', '--max-old-space-size=2048'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
        child.stderr!.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString()).slice(-2000);
        });
        child.on('message', (m: ChildMessage) => {
          if (m.type === 'ready') {
            // Resume the interrupted range after the case that crashed or hung.
            if (range && current >= 0 && current + 1 < range[1]) {
              range = [current + 1, range[1]];
              current = -1;
              child.send({ type: 'run', seed: options.seed, from: range[0], to: range[1] } satisfies ParentMessage);
            } else runNext();
          } else if (m.type === 'start') {
            current = m.index;
            timer = setTimeout(() => {
              report.hangs.push(m.index);
              child.kill('SIGKILL');
            }, timeout);
          } else if (m.type === 'done') {
            clearTimeout(timer);
            const o = m.outcome;
            if (o.kind === 'ok') report.ok++;
            else if (o.kind === 'xsys') report.xsysErrors++;
            else report.foreign.push({ index: m.index, message: o.message, stack: o.stack });
            finishCase();
            if (range && m.index === range[1] - 1) current = -1;
          } else if (m.type === 'idle') runNext();
        });
        child.on('exit', (code, signal) => {
          clearTimeout(timer);
          if (code === 0 && current < 0 && !range) return resolve();
          if (code === 0 && !range) return resolve();
          if (current < 0) return reject(new Error(`fuzz worker exited (${code ?? signal}) outside a case: ${stderr}`));
          if (!report.hangs.includes(current)) report.crashes.push({ index: current, detail: `${signal ?? `exit ${code}`}: ${stderr.slice(-500)}` });
          finishCase();
          spawn();
        });
      };
      spawn();
    });

  await Promise.all(Array.from({ length: workers }, () => worker()));
  report.ms = Date.now() - t0;
  return report;
}

export function summary(r: FuzzReport): string {
  const lines = [
    `fuzz seed ${r.seed}: ${r.cases} cases in ${(r.ms / 1000).toFixed(1)} s — ${r.ok} compiled, ${r.xsysErrors} refused with xsys errors, ${r.foreign.length} foreign exceptions, ${r.hangs.length} hangs, ${r.crashes.length} crashes`,
  ];
  for (const f of r.foreign.slice(0, 20)) lines.push(`  foreign #${f.index}: ${f.message}\n    ${f.stack.split('\n').slice(1, 4).join('\n    ')}`);
  for (const h of r.hangs) lines.push(`  hang #${h}`);
  for (const c of r.crashes) lines.push(`  crash #${c.index}: ${c.detail}`);
  return lines.join('\n');
}
