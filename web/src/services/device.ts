/**
 * Explanations computed in this browser: the model bytes come from the service once, the explainer is compiled here
 * with the xsys browser core and run by onnxruntime-web; the input never leaves the machine.
 */
import { configureRuntime, DeviceExplainer, hasWebGpu, type DeviceBackend, type DeviceMethod, DEVICE_METHODS } from '../../../src/browser/index.js';
import { api } from './api';
import type { Explained } from './explained';
import { topK } from './explained';
import type { Tensor } from './tensor';

let configured = false;
/** Whether an explanation has completed on this page (the runtime is then loaded and compiled). */
let warm = false;
function configure(): void {
  if (configured) return;
  // The .wasm is served by the app itself (web/dist/ort/), never from a CDN.
  const threads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  configureRuntime({ wasmPaths: new URL('ort/', document.baseURI).href, numThreads: threads });
  configured = true;
}

const explainers = new Map<string, Promise<DeviceExplainer>>();

let backendChoice: Promise<DeviceBackend> | undefined;

/** WebGPU where the browser offers it and a GPU adapter is actually available, else WASM. */
export function preferredBackend(): Promise<DeviceBackend> {
  backendChoice ??= (async () => {
    if (!hasWebGpu()) return 'wasm';
    try {
      const gpu = (navigator as unknown as { gpu: { requestAdapter(): Promise<unknown> } }).gpu;
      return (await gpu.requestAdapter()) ? 'webgpu' : 'wasm';
    } catch {
      return 'wasm';
    }
  })();
  return backendChoice;
}

export function runsOnDevice(method: string): method is DeviceMethod {
  return (DEVICE_METHODS as readonly string[]).includes(method);
}

export { DEVICE_METHODS };

function explainerFor(modelId: string, backend: DeviceBackend): Promise<DeviceExplainer> {
  configure();
  const key = `${modelId}:${backend}`;
  let e = explainers.get(key);
  if (!e) {
    e = api.modelFile(modelId).then((bytes) => DeviceExplainer.load(bytes, { backend }));
    explainers.set(key, e);
    e.catch(() => explainers.delete(key));
  }
  return e;
}

export async function explainLocally(modelId: string, input: Tensor, options: { method: string; composite?: string; target: number | 'pred' }): Promise<Explained> {
  if (!runsOnDevice(options.method)) throw new Error(`'${options.method}' runs on the server only; on this device: ${DEVICE_METHODS.join(', ')}`);
  let backend = await preferredBackend();
  const t0 = performance.now();
  let ex = await explainerFor(modelId, backend);
  const run = (d: DeviceExplainer) => d.explain(input, { method: options.method as DeviceMethod, composite: options.method === 'lrp' ? options.composite : undefined, target: options.target });
  let r;
  try {
    r = await run(ex);
  } catch (e) {
    if (backend !== 'webgpu') throw e;
    // Some compiled graphs use ops the WebGPU backend lacks; WASM runs them all.
    backend = 'wasm';
    ex = await explainerFor(modelId, backend);
    r = await run(ex);
  }
  let sum = 0;
  for (const v of r.attribution.data) sum += v;
  const coldStart = !warm;
  warm = true;
  return {
    coldStart,
    where: 'local',
    backend: r.backend,
    method: r.method,
    composite: r.composite,
    target: r.target,
    attribution: r.attribution,
    topk: topK(r.scores.data, 5),
    relevanceSum: sum,
    timingMs: { compile: r.timing.compileMs, session: r.timing.sessionMs, total: performance.now() - t0 },
  };
}
