/**
 * The worker thread of runtime/worker-runtime.ts: holds ONNX Runtime sessions and runs them. onnxruntime-node
 * creates sessions and runs them synchronously on the calling thread; here that thread is this worker, not the
 * server's event loop.
 */
import { parentPort } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';

import { runFeeds } from './node.js';
import { createSession } from './session.js';
import type { OrtRequest, OrtReply } from './worker-runtime.js';
import type { Tensor } from './tensor.js';

const sessions = new Map<number, ort.InferenceSession>();

async function handle(m: OrtRequest): Promise<{ value?: Record<string, Tensor>; transfer: ArrayBuffer[] }> {
  switch (m.kind) {
    case 'create':
      sessions.set(m.session, await createSession(m.bytes, { threads: m.threads, compiledGraph: m.compiledGraph }));
      return { transfer: [] };
    case 'run': {
      const s = sessions.get(m.session);
      if (!s) throw new Error(`session ${m.session} was released`);
      const out = await runFeeds(s, m.feeds, m.outputs);
      return { value: out, transfer: Object.values(out).map((t) => t.data.buffer as ArrayBuffer) };
    }
    case 'release':
      await sessions.get(m.session)?.release();
      sessions.delete(m.session);
      return { transfer: [] };
  }
}

parentPort!.on('message', (m: OrtRequest) => {
  handle(m).then(
    ({ value, transfer }) => parentPort!.postMessage({ id: m.id, ok: true, value } satisfies OrtReply, transfer),
    (e: unknown) => {
      const err = e as Error & { hint?: string };
      parentPort!.postMessage({ id: m.id, ok: false, name: err.name, message: err.message, hint: err.hint } satisfies OrtReply);
    },
  );
});
