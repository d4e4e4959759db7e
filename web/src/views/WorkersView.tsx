/**
 * Workers (queue mode, `xsys serve --queue`): which `xsys worker` processes are alive (their heartbeats), which shards
 * they are computing, their throughput, and the queue's shard counts. Refreshes every 2 s. Without a queue it says
 * how to start one.
 */
import { useEffect, useState } from 'react';
import type { RouteState } from '../app/route';
import { Empty, ErrorBox, Panel } from '../components/common';

interface RunningShard {
  jobId: string;
  kind: string;
  shard: number;
  start: number;
  count: number;
  done: number;
  startedAt: string;
}
interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  xsysVersion: string;
  ortVersion?: string;
  threads: number | null;
  concurrency: number;
  startedAt: string;
  lastSeen: string;
  running: RunningShard[];
  shardsDone: number;
  shardsFailed: number;
  shardsRefused: number;
  itemsDone: number;
  itemsPerSecond: number;
}
interface WorkersReply {
  queue: { url: string; counts: Record<string, number> } | null;
  workers: WorkerInfo[];
}

const REFRESH_MS = 2000;

export function WorkersView(_props: { route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const [reply, setReply] = useState<WorkersReply>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let alive = true;
    const load = async () => {
      try {
        const res = await fetch('/api/workers');
        if (!res.ok) throw new Error(`GET /api/workers: ${res.status} ${res.statusText}`);
        const body = (await res.json()) as WorkersReply;
        if (alive) (setReply(body), setError(undefined));
      } catch (e) {
        if (alive) setError(e);
      }
    };
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, []);
  const total = reply?.workers.reduce((n, w) => n + w.itemsPerSecond, 0) ?? 0;
  return (
    <div className="workspace single">
      <main className="main">
        <ErrorBox error={error} />
        {reply && !reply.queue && (
          <Empty>
            This server runs dataset jobs in-process. To spread them over machines, start it with <code>xsys serve --queue redis://host:6379</code> and run <code>xsys worker --queue redis://host:6379 --server http://this-server:7860</code> on each machine (see docs/deploy.md).
          </Empty>
        )}
        {reply?.queue && (
          <Panel title={`Queue ${reply.queue.url}`}>
            <p data-testid="queue-counts">
              {['waiting', 'active', 'delayed', 'failed'].map((k) => `${reply.queue!.counts[k] ?? 0} ${k}`).join(' · ')} shards · {reply.workers.length} worker{reply.workers.length === 1 ? '' : 's'} · {total.toFixed(1)} items/s in all
            </p>
          </Panel>
        )}
        {reply?.queue && reply.workers.length === 0 && <Empty>No worker is connected. Start one with <code>xsys worker --queue {reply.queue.url}</code>.</Empty>}
        {reply && reply.workers.length > 0 && (
          <Panel title="Workers">
            <table className="table" data-testid="workers-table">
              <thead>
                <tr>
                  <th>Worker</th>
                  <th>Version</th>
                  <th>Threads × shards</th>
                  <th>Running</th>
                  <th>Shards done / failed / refused</th>
                  <th>Items</th>
                  <th>Items/s</th>
                  <th>Last heartbeat</th>
                </tr>
              </thead>
              <tbody>
                {reply.workers.map((w) => (
                  <tr key={w.id} data-testid="worker-row">
                    <td title={`pid ${w.pid}, up since ${w.startedAt}`}>{w.id}</td>
                    <td>{w.xsysVersion}</td>
                    <td>
                      {w.threads ?? 'all'} × {w.concurrency}
                    </td>
                    <td>
                      {w.running.length === 0
                        ? 'idle'
                        : w.running.map((r) => (
                            <div key={`${r.jobId}.${r.shard}`}>
                              {r.kind} <a href={`#/eval?job=${r.jobId}`}>{r.jobId.slice(-6)}</a> shard {r.shard} (items {r.start}–{r.start + r.count - 1}): {r.done}/{r.count}
                            </div>
                          ))}
                    </td>
                    <td>
                      {w.shardsDone} / {w.shardsFailed} / {w.shardsRefused}
                    </td>
                    <td>{w.itemsDone}</td>
                    <td>{w.itemsPerSecond.toFixed(1)}</td>
                    <td>{new Date(w.lastSeen).toLocaleTimeString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Panel>
        )}
      </main>
    </div>
  );
}
