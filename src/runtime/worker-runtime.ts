/**
 * The Node runtime port with ONNX Runtime in a worker thread. onnxruntime-node loads models and runs them
 * synchronously on the thread that calls it, so a large compiled explainer (seconds to load) or a long run
 * (occlusion, integrated gradients) would stall everything else on the server's event loop. The server uses this
 * adapter: one worker thread holds all sessions (runs queue there, as they would for the cores anyway), the event
 * loop only sends feeds and receives outputs. Sessions the caller drops are released in the worker.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import type { ModelProto } from 'onnx-buf';

import { RuntimeFailure } from '../errors.js';
import { serializeModel } from '../onnx/model.js';
import type { Feed } from './feeds.js';
import type { ExplainRuntime, RuntimeSession } from './port.js';
import type { Tensor } from './tensor.js';

export type OrtRequest =
  | { id: number; kind: 'create'; session: number; bytes: Uint8Array; threads?: number; compiledGraph: boolean }
  | { id: number; kind: 'run'; session: number; feeds: Record<string, Feed | Tensor>; outputs?: string[] }
  | { id: number; kind: 'release'; session: number };
type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type OrtReply = { id: number; ok: true; value?: Record<string, Tensor> } | { id: number; ok: false; name: string; message: string; hint?: string };

const HERE = new URL(import.meta.url);
const FROM_SOURCE = HERE.pathname.endsWith('.ts');
const SCRIPT = new URL(FROM_SOURCE ? './ort-worker.ts' : './ort-worker.js', HERE);

/** Built: ort-worker.js. From TypeScript sources (tests), a bootstrap registers tsx's loader in the worker first. */
export function workerScript(script: URL): { entry: URL | string; eval: boolean } {
  if (!script.pathname.endsWith('.ts')) return { entry: script, eval: false };
  // The ESM entry of tsx's API, resolved from this package (a worker does not inherit vitest's or tsx's loader).
  const api = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  return { entry: `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(script.href)}); });`, eval: true };
}

/** onnxruntime-node in a worker thread, `threads` intra-op threads per session (default: ORT's choice). */
export function workerRuntime(threads?: number): ExplainRuntime & { close(): Promise<void> } {
  let worker: Worker | undefined;
  let nextId = 1;
  let nextSession = 1;
  const pending = new Map<number, { resolve: (v: Record<string, Tensor> | undefined) => void; reject: (e: Error) => void }>();
  const failAll = (e: Error) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
    worker = undefined;
  };
  const start = (): Worker => {
    if (worker) return worker;
    const { entry, eval: isEval } = workerScript(SCRIPT);
    const w = new Worker(entry, { eval: isEval });
    w.unref();
    w.on('message', (r: OrtReply) => {
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      if (r.ok) p.resolve(r.value);
      else p.reject(r.name === 'RuntimeFailure' ? new RuntimeFailure(r.message, r.hint) : new RuntimeFailure(`ONNX Runtime: ${r.message}`, r.hint));
    });
    w.on('error', (e) => failAll(new RuntimeFailure(`the ONNX Runtime worker thread failed: ${e.message}`, undefined, e)));
    w.on('exit', (code) => failAll(new RuntimeFailure(`the ONNX Runtime worker thread ended (exit ${code})`)));
    worker = w;
    return w;
  };
  const call = (req: Without<OrtRequest, 'id'>): Promise<Record<string, Tensor> | undefined> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      const w = start();
      // Requests keep the process alive while they are in flight; an idle worker does not.
      w.ref();
      const done = () => pending.size === 0 && worker?.unref();
      const p = pending.get(id)!;
      pending.set(id, { resolve: (v) => (p.resolve(v), done()), reject: (e) => (p.reject(e), done()) });
      w.postMessage({ ...req, id } as OrtRequest);
    });
  // A session handle the caller no longer holds frees its ORT session in the worker.
  const released = new FinalizationRegistry<number>((session) => {
    if (worker) void call({ kind: 'release', session }).catch(() => undefined);
  });
  return {
    name: 'onnxruntime-node (worker thread)',
    async createSession(model: ModelProto, options: { compiledGraph: boolean }): Promise<RuntimeSession> {
      const session = nextSession++;
      await call({ kind: 'create', session, bytes: serializeModel(model), threads, compiledGraph: options.compiledGraph });
      const handle: RuntimeSession = {
        run: async (feeds, outputs) => (await call({ kind: 'run', session, feeds: { ...feeds }, outputs: outputs ? [...outputs] : undefined }))!,
      };
      released.register(handle, session);
      return handle;
    },
    async close() {
      const w = worker;
      worker = undefined;
      if (w) await w.terminate();
    },
  };
}
