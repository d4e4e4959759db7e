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
export { inferShapes } from './ops/shapes.js';
export { type Dim, type ValueInfo } from './ir/shapes.js';
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
// Evaluation metrics (Quantus v0.6 definitions): registry, contract, ONNX weight randomisation, conformance.
export { METRICS, METRIC_NAMES, getMetric, metricsIn } from './metrics/index.js';
export type { Metric, MetricInput, MetricContext, MetricResult, MetricParams, MetricCategory, ScoreDirection, ScoreFn, ExplainFn, ModelHandle } from './metrics/types.js';
export { parameterisedLayers, randomiseLayers } from './weight-surgery/randomise-layers.js';
export { compensateInputShift } from './weight-surgery/input-shift.js';
export { runMetricsConformance, isMetricsManifest } from './conformance/metrics.js';
// Evaluation (issue 4): datasets, ORT-backed metric runner, MetaQuantus meta-evaluation, reports.
export { loadDataset, type Dataset, type DatasetOptions } from './data/dataset.js';
export { parseIdx, readIdx } from './data/idx.js';
export { OrtModel } from './evaluation/ort-model.js';
export { parseMethodList, parseMethodSpec, type LabelledMethod } from './evaluation/methods.js';
export type { MethodSpec } from './methods/types.js';
export { perturbWeights, type WeightNoise } from './weight-surgery/perturb-weights.js';
export { runEvaluation, type EvaluationOptions, type EvaluationResult } from './evaluation/evaluate.js';
export { ortMetaSubject } from './evaluation/meta-subject.js';
export { runMetaEvaluation, METAQUANTUS_TESTS, METAQUANTUS_DEFAULTS, type MetaEvaluationResult, type MetaTest } from './metrics/meta/run.js';
export { evaluationChart, metaChart, svgToPng } from './evaluation/report/chart.js';
export { MultiInputExplainer, FEEDS_METHODS, scoreRows, type FeedsExplainOptions, type FeedsExplanation, type FeedsMethod } from './methods/multi-input.js';
export { declaredInputs, feedFromArray, validateFeed, type Feed, type FeedDtype, type DeclaredInput } from './runtime/feeds.js';
export { runFeeds, nodeRuntime } from './runtime/node.js';
export type { ExplainRuntime, RuntimeSession } from './runtime/port.js';
export { ExplainSession, type OnePassOptions, type OnePassResult } from './methods/session.js';
export { findTokenEmbeddings, pickTokenEmbedding, type TokenEmbedding } from './compiler/sources.js';
export { loadTokenizer, readTokenIds, idsFromJson, type TextTokenizer } from './io/tokens.js';
export { tokensToHtml, tokensToAnsi, relevanceColor, displayToken, type TokenRelevance } from './render/tokens.js';
// Concepts (issue 14): CRP conditional heatmaps, zennit-crp conformance.
export { CrpExplainer, MAX_CONDITIONS_PER_RUN, type Condition, type ConditionLayer, type CrpOptions, type CrpResult, type CrpItem } from './concepts/crp.js';
export { compileCrp, type CompiledCrp, type CrpCompileOptions } from './compiler/crp.js';
export { runCrpConformance, isCrpManifestJson } from './conformance/crp.js';
export { conceptRelevance, subConcepts, rankChannels, type ConceptRelevance, type ChannelRelevance, type SubConcepts, type ConceptOptions } from './concepts/relevance.js';
export { compileStatistics, LAYER_STATS, type StatisticsGraph, type LayerStat } from './concepts/statistics-graph.js';
export { collectRange, mergeStates, stateToJson, stateFromJson, StatisticsEngine, validateSpec, MAX_K, type SampleSource, type ReferenceSpec, type ReferenceState, type ReferenceStateJson } from './concepts/references.js';
export { TopK, type TopKJson } from './concepts/topk.js';
export { arraySource } from './concepts/sources.js';
export { buildReferences, loadReferences, readReferenceFile, sourceFingerprint, type ReferenceFile, type ReferenceProvenance, type BuildOptions } from './concepts/store.js';
export { classAtlas, compareAtlases, cropReferences, referenceSamples, relevanceBox, REFERENCE_STATS, type ClassAtlas, type AtlasComparison, type ReferenceSample, type CroppedReference, type Box, type ReferenceStat } from './concepts/atlas.js';
export { runCrpReferencesConformance } from './conformance/crp-references.js';

export { spray, normalizeHeatmaps, downsample, type SprayResult, type SprayCluster, type SprayOptions, type Heatmaps } from './strategies/spray.js';
export { spectralClustering, type SpectralResult, type SpectralOptions } from './strategies/spectral.js';
export { fitGmm, fitGmmByBic, scoreSamples, predict as predictGmm, type Gmm, type GmmFit, type GmmOptions, type CovarianceType } from './strategies/gmm.js';
export { fitPrototypes, fitClassPrototypes, assess, type ClassPrototypes, type Prototype, type PcxAssessment, type PcxOptions } from './strategies/pcx.js';
export { trainCav, CAV_METHODS, type Cav, type CavMethod, type CavOptions } from './strategies/cav.js';
export { tcav, sensitivity, type TcavResult, type TcavOptions, type Sensitivity } from './strategies/tcav.js';
export { tTestIndependent, type TTest } from './strategies/stats.js';
export { relevanceFeatures, layerActivations, layerGradients, type RelevanceFeatures, type LayerReduce } from './strategies/features.js';
export { pasteArtefact, readArtefactSpec, type ArtefactSpec } from './strategies/artefact.js';
export { toPoints, pointsOf, type Points } from './strategies/points.js';
export { insertClarc, CLARC_MODES, type ClarcSpec, type ClarcMode, type ClarcInsertion } from './weight-surgery/clarc.js';
export { truncateAt } from './weight-surgery/truncate.js';
export { fitArtefactCav, cavRelevance, relevanceMasks, maskIou, rankByArtefact, type ArtefactCav, type CavRelevance } from './correction/localise.js';
export { correctModel, cavFile, parseCavFile, readCavFile, type CavFile, type CorrectionOptions } from './correction/correct.js';
export { reevaluate, evaluateModel, regionShare, type Reevaluation, type ReevaluationSets, type ModelEvaluation } from './correction/reevaluate.js';
export { pruneChannels, type PruneResult } from './weight-surgery/prune-channels.js';
export { pruneTransformer, findAttention, findMlps, transformerMagnitudes, type AttentionBlock, type MlpBlock, type TransformerPruneResult } from './weight-surgery/prune-transformer.js';
export { PRUNE_GRANULARITIES, prunableLayers, unitRelevance, unitRelevanceRows, unitMagnitudes, pruneUnits, pruneLowest, accuracyOf, parseGrid, tuneComposite, DEFAULT_GRIDS, type PruneGranularity, type PrunableLayer, type TuningReport, type GridCandidate } from './correction/prune-units.js';
export { channelRelevance, filterMagnitudes, lowestChannels, pruningCurve, convLayers, artefactChannelScores, PRUNE_CRITERIA, type PruneCriterion, type CurvePoint } from './correction/prune.js';
export { barChart, lineChart, reevaluationChart, type Curve, type BarGroup } from './correction/charts.js';
export { prependLinear, VIRTUAL_LAYER, type PrependedLinear } from './weight-surgery/prepend-linear.js';
export { dftSynthesis, dftCoefficients, binRelevance, stftLayout, stftCoefficients, stftSynthesis, type StftLayout } from './frequency/dft.js';
export { frequencyModel, explainFrequency, virtualComposite, bandShare, DOMAINS, type Domain, type FrequencyModel, type FrequencyRelevance } from './frequency/dft-lrp.js';
