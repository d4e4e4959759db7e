/**
 * xsys — explain ONNX models with LRP and gradient methods, compiled into the ONNX graph.
 * Public library API.
 */
export { compileExplainer, SEED_NAME, type CompileOptions, type CompiledExplainer, type BackwardKind } from './compiler/compile.js';
export { explain, defaultCamLayer } from './methods/explain.js';
export { ModelExplainer } from './methods/explainer.js';
export { METHOD_NAMES, type MethodName, type ExplainOptions, type Explanation, type Target } from './methods/types.js';
export { COMPOSITE_NAMES, NAMED_COMPOSITES, namedComposite, parseComposite, type Composite, type CompositeEntry, type Matcher } from './composites/index.js';
export { loadCompositeFile, resolveComposite } from './composites/file.js';
export { RULES, getRule, type Rule, type RuleContext } from './rules/index.js';
export { CANONICALIZERS, canonicalize, type Canonicalizer, type CanonReport } from './canonicalize/index.js';
export { Graph } from './ir/graph.js';
export { inferShapes, type Dim, type ValueInfo } from './ir/shapes.js';
export { parseModel, serializeModel } from './onnx/model.js';
export { readModel } from './onnx/file.js';
export { parseNpy, encodeNpy, toFloat32, type NdArray } from './io/npy.js';
export { readNpy, writeNpy } from './io/npy-file.js';
export { loadImage, isImagePath, type ImageLoadOptions } from './io/image.js';
export { attributionToHeatmap, overlay, type HeatmapOptions } from './render/heatmap.js';
export { encodePng, writePng } from './render/png.js';
export { COLORMAP_NAMES, colormap } from './render/colormaps.js';
export { runConformance, type ConformanceReport, type ConformanceCaseResult } from './conformance/run.js';
export type { Tensor } from './runtime/tensor.js';
export * from './errors.js';
