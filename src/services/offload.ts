/**
 * Heavy model work off the server's event loop: checking an upload (parse, the compiler's analysis, an ONNX Runtime
 * session) and compiling an explainer run in a worker thread each, with a heap limit and a time limit, so a huge or
 * slow model costs a thread, never the server — health, reads and other requests keep being answered, and a model
 * that would exhaust memory ends its worker (a LimitExceededError), not the process. One worker per task: tasks are
 * rare (once per upload, once per model × method × composite, then cached) and a fresh thread leaves nothing behind.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { Worker } from 'node:worker_threads';

import type { CompiledGraph, CompileOptions } from '../compiler/compile.js';
import type { CompiledCrp, CrpCompileOptions } from '../compiler/crp.js';
import type { Inspection } from '../compiler/inspect.js';
import * as errors from '../errors.js';
import { LimitExceededError, XsysError } from '../errors.js';
import { MODEL_LIMITS } from '../onnx/limits.js';
import { workerScript } from '../runtime/worker-runtime.js';

export type CompiledSummary = Omit<CompiledGraph, 'model' | 'bytes'>;
export type CompiledCrpSummary = Omit<CompiledCrp, 'model' | 'bytes'>;

export type WorkerTask =
  | { kind: 'check'; bytes: Uint8Array; name: string }
  | { kind: 'inspect'; bytes: Uint8Array; name: string; composite: string }
  | { kind: 'compile'; bytes: Uint8Array; name: string; options: CompileOptions }
  | { kind: 'compile-crp'; bytes: Uint8Array; name: string; options: CrpCompileOptions };
export type WorkerReply =
  | { ok: true; value: unknown }
  | { ok: false; error: { name: string; message: string; stack: string; props: Record<string, unknown>; xsys: boolean } };

const HERE = new URL(import.meta.url);
const SCRIPT = new URL(HERE.pathname.endsWith('.ts') ? './model-worker.ts' : './model-worker.js', HERE);

/** The typed error a worker threw, rebuilt on this side (same class, message, hint, exit code, fields). */
function rebuild(e: Extract<WorkerReply, { ok: false }>['error']): Error {
  const cls = (errors as Record<string, unknown>)[e.name];
  const proto = e.xsys && typeof cls === 'function' ? (cls as { prototype: object }).prototype : e.xsys ? XsysError.prototype : Error.prototype;
  const err = Object.assign(Object.create(proto) as Error, e.props);
  Object.defineProperty(err, 'message', { value: e.message, writable: true, configurable: true });
  Object.defineProperty(err, 'stack', { value: e.stack, writable: true, configurable: true });
  return err;
}

export interface OffloadOptions {
  /** Wall-clock limit per task. */
  timeoutMs?: number;
  /** Heap limit per worker. */
  heapMb?: number;
}

function runTask<T>(task: WorkerTask, options: OffloadOptions, transfer: ArrayBuffer[] = []): Promise<T> {
  const timeoutMs = options.timeoutMs ?? MODEL_LIMITS.workerSeconds * 1000;
  const heapMb = options.heapMb ?? MODEL_LIMITS.workerHeapMb;
  const what = task.kind === 'compile' ? `compiling an explainer of ${task.name}` : task.kind === 'compile-crp' ? `compiling a CRP graph of ${task.name}` : `${task.kind === 'check' ? 'checking' : 'inspecting'} model ${task.name}`;
  return new Promise<T>((resolve, reject) => {
    const { entry, eval: isEval } = workerScript(SCRIPT);
    const worker = new Worker(entry, { eval: isEval, workerData: task, transferList: transfer, resourceLimits: { maxOldGenerationSizeMb: heapMb } });
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
      void worker.terminate();
    };
    const timer = setTimeout(() => settle(() => reject(new LimitExceededError(`${what}: time (s)`, `more than ${timeoutMs / 1000}`, timeoutMs / 1000, 'the model is too large or too complex to compile here; explain it with the CLI on a bigger machine'))), timeoutMs);
    worker.once('message', (reply: WorkerReply) => settle(() => (reply.ok ? resolve(reply.value as T) : reject(rebuild(reply.error)))));
    worker.once('error', (e: Error & { code?: string }) =>
      settle(() =>
        reject(
          e.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new LimitExceededError(`${what}: memory (MB)`, `more than ${heapMb}`, heapMb, 'the model needs more memory to compile than the server allows')
            : new errors.RuntimeFailure(`${what} failed: ${e.message}`, undefined, e),
        ),
      ),
    );
    worker.once('exit', (code) => settle(() => reject(new errors.RuntimeFailure(`${what}: the worker thread ended (exit ${code}) without a result`))));
  });
}

/** Parses, analyses and loads (ONNX Runtime) an uploaded model in a worker; the compiler's inspection comes back. */
export function checkModelOffThread(bytes: Uint8Array, name: string, options: OffloadOptions = {}): Promise<Inspection> {
  return runTask<Inspection>({ kind: 'check', bytes, name }, options);
}

/** The compiler's inspection of a stored model under a built-in composite, computed in a worker. */
export function inspectOffThread(bytes: Uint8Array, name: string, composite: string, options: OffloadOptions = {}): Promise<Inspection> {
  return runTask<Inspection>({ kind: 'inspect', bytes, name, composite }, options);
}

/** Compiles an explainer in a worker; the compiled graph comes back as bytes and is decoded here (linear, no analysis). */
export async function compileOffThread(bytes: Uint8Array, name: string, compileOptions: CompileOptions, options: OffloadOptions = {}): Promise<CompiledGraph> {
  const { bytes: out, summary } = await runTask<{ bytes: Uint8Array; summary: CompiledSummary }>({ kind: 'compile', bytes, name, options: compileOptions }, options);
  const model: ModelProto = fromBinary(ModelProtoSchema, out);
  return { ...summary, model, bytes: () => out };
}

/** Compiles a CRP graph (compiler/crp.ts) in a worker; like compileOffThread, the graph comes back as bytes. */
export async function compileCrpOffThread(bytes: Uint8Array, name: string, crpOptions: CrpCompileOptions, options: OffloadOptions = {}): Promise<CompiledCrp> {
  const { bytes: out, summary } = await runTask<{ bytes: Uint8Array; summary: CompiledCrpSummary }>({ kind: 'compile-crp', bytes, name, options: crpOptions }, options);
  const model: ModelProto = fromBinary(ModelProtoSchema, out);
  return { ...summary, model, bytes: () => out };
}
