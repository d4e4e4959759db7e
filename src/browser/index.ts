/**
 * Browser entry of xsys: the compiler core (no Node-only modules reachable from here; test/browser/clean.test.ts
 * checks it) plus on-device explanation with onnxruntime-web.
 */
export { compileExplainer, SEED_NAME, type CompileOptions, type CompiledExplainer, type BackwardKind } from '../compiler/compile.js';
export { COMPOSITE_NAMES, NAMED_COMPOSITES, namedComposite, parseComposite, assignRules, type Composite, type CompositeEntry, type Matcher } from '../composites/index.js';
export { RULES, getRule, type Rule } from '../rules/index.js';
export { CANONICALIZERS, canonicalize } from '../canonicalize/index.js';
export { Graph } from '../ir/graph.js';
export { parseModel, serializeModel } from '../onnx/model.js';
export { parseNpy, encodeNpy, toFloat32, type NdArray } from '../io/npy.js';
export { attributionToHeatmap, overlay, type HeatmapOptions, type RgbImage } from '../render/heatmap.js';
export { COLORMAP_NAMES, colormap, palette } from '../render/colormaps.js';
export { METHOD_NAMES, type MethodName } from '../methods/types.js';
export { DEVICE_METHODS, DeviceExplainer, explainOnDevice, configureRuntime, hasWebGpu, type DeviceMethod, type DeviceBackend, type DeviceExplainOptions, type DeviceExplanation } from './device.js';
export type { Tensor } from '../runtime/tensor.js';
export * from '../errors.js';
