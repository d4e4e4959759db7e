/**
 * The body of one worker thread of runtime/offload.ts: checks an uploaded model or compiles an explainer, then
 * posts the result (or the error, as plain data) and ends. Runs the same library code the main thread would.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { inspectModel } from '../compiler/inspect.js';
import { compileExplainer } from '../compiler/compile.js';
import { compileCrp } from '../compiler/crp.js';
import { DEFAULT_COMPOSITE } from '../composites/index.js';
import { UnsupportedModelError, XsysError } from '../errors.js';
import { ModelExplainer } from '../methods/explainer.js';
import { MultiInputExplainer } from '../methods/multi-input.js';
import { parseModel } from '../onnx/model.js';
import { createSession } from '../runtime/session.js';
import type { CompiledCrpSummary, CompiledSummary, WorkerReply, WorkerTask } from './offload.js';

async function run(task: WorkerTask): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  if (task.kind === 'inspect') return { value: inspectModel(parseModel(task.bytes, task.name), task.composite, {}), transfer: [] };
  if (task.kind === 'check') {
    const model = parseModel(task.bytes, task.name);
    // The compiler's own analysis (canonicalisation, shape inference, rules), then what explaining needs.
    const inspection = inspectModel(model, DEFAULT_COMPOSITE, {});
    // Image models have one float input; token (text) and multi-input models are explained through named feeds.
    const mx = await ModelExplainer.load(model).catch(async (err: unknown) => {
      const mi = await MultiInputExplainer.load(model).catch(() => undefined);
      if (!mi || (!mi.embeddings.length && !mi.inputs.some((i) => i.dtype === 'float32'))) throw err;
      return mi;
    });
    // ONNX Runtime must be able to load it too: a model it refuses (unknown op, type errors, bad data) would be
    // stored and then fail every explanation.
    try {
      const session = await createSession(mx.model);
      await session.release();
    } catch (e) {
      throw new UnsupportedModelError(`${task.name}: ONNX Runtime cannot load this model: ${e instanceof XsysError ? ((e.cause as Error | undefined)?.message ?? e.message) : (e as Error).message}`, 'check the model with onnx.checker.check_model and onnxruntime.InferenceSession in Python, or export it again with a supported opset');
    }
    return { value: inspection, transfer: [] };
  }
  if (task.kind === 'compile-crp') {
    const c = compileCrp(parseModel(task.bytes, task.name), task.options);
    const bytes = c.bytes();
    const { model: _model, bytes: _bytes, ...summary } = c;
    return { value: { bytes, summary: summary satisfies CompiledCrpSummary }, transfer: [bytes.buffer as ArrayBuffer] };
  }
  const c = compileExplainer(parseModel(task.bytes, task.name), task.options);
  const bytes = c.bytes();
  // Everything but the model (sent as bytes) and the compiler's own records (they hold functions and node objects).
  const { model: _model, bytes: _bytes, units: _units, assignments: _assignments, appliedRules: _applied, ...summary } = c;

  return { value: { bytes, summary: summary satisfies CompiledSummary }, transfer: [bytes.buffer as ArrayBuffer] };
}

function plain(e: unknown): WorkerReply {
  const err = e instanceof Error ? e : new Error(String(e));
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) if (k !== 'cause' && (v === null || ['string', 'number', 'boolean'].includes(typeof v))) props[k] = v;
  return { ok: false, error: { name: err.name, message: err.message, stack: err.stack ?? '', props, xsys: err instanceof XsysError } };
}

run(workerData as WorkerTask).then(
  ({ value, transfer }) => parentPort!.postMessage({ ok: true, value } satisfies WorkerReply, transfer),
  (e: unknown) => parentPort!.postMessage(plain(e)),
);
