/**
 * JSON schemas of the workbench API. Request schemas are used twice: Fastify validates bodies, queries and path
 * parameters with them, and /openapi.json publishes them. Response schemas are published (components) and checked by
 * the API tests against real responses.
 */
import { COMPOSITE_CHOICES, DEFAULT_COMPOSITE } from '../composites/index.js';
import { METHOD_NAMES } from '../methods/types.js';
import { COLORMAP_NAMES } from '../render/colormaps.js';

export const SHA256 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
export const ULID = { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' } as const;

const dim = { type: ['integer', 'string'] };
const tensorSpec = { type: 'object', required: ['name', 'dtype', 'shape'], properties: { name: { type: 'string' }, dtype: { type: 'string' }, shape: { type: 'array', items: dim } } };

export const preprocessSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    size: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 4096 }, minItems: 2, maxItems: 2 },
    grayscale: { type: 'boolean' },
    mean: { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: 4 },
    std: { type: 'array', items: { type: 'number', exclusiveMinimum: 0 }, minItems: 1, maxItems: 4 },
    channelOrder: { type: 'string', enum: ['rgb', 'bgr'], description: "tensor channel order (default rgb; bgr for Caffe/OpenCV-trained models)" },
    layout: { type: 'string', enum: ['nchw', 'nhwc'], description: 'tensor layout (default nchw; nhwc for TensorFlow/Keras exports)' },
  },
};

export const textExplainRequestSchema = {
  type: 'object',
  required: ['modelId', 'text', 'method'],
  additionalProperties: false,
  properties: {
    modelId: SHA256,
    text: { type: 'string', minLength: 1, maxLength: 10000, description: 'the text, tokenised with the tokenizer stored with the model' },
    method: { type: 'string', enum: ['lrp', 'gradient', 'gradient-x-input'] },
    composite: { type: 'string', enum: COMPOSITE_CHOICES, description: 'LRP composite; default attnlrp' },
    params: { type: 'object', maxProperties: 32, additionalProperties: { type: ['number', 'string'] } },
    target: { anyOf: [{ type: 'integer', minimum: 0 }, { const: 'pred' }] },
  },
};

export const textExplainResultSchema = {
  type: 'object',
  required: ['modelId', 'method', 'composite', 'params', 'target', 'topk', 'tokenInput', 'tokens', 'relevanceSum', 'provenance'],
  properties: {
    modelId: SHA256,
    method: { type: 'string' },
    composite: { type: ['string', 'null'] },
    params: { type: 'object', additionalProperties: { type: ['number', 'string'] } },
    target: { type: 'integer' },
    topk: { type: 'array', items: { type: 'object', required: ['class', 'score', 'prob'], properties: { class: { type: 'integer' }, score: { type: 'number' }, prob: { type: 'number' } } } },
    tokenInput: { type: 'string' },
    tokens: { type: 'array', items: { type: 'object', required: ['id', 'token', 'relevance'], properties: { id: { type: 'integer' }, token: { type: 'string' }, relevance: { type: 'number' } } } },
    relevanceSum: { type: 'number' },
    provenance: {
      type: 'object',
      required: ['modelSha256', 'tokenizerSha256', 'text', 'target', 'xsysVersion', 'ortVersion', 'timingMs'],
      properties: {
        modelSha256: SHA256,
        tokenizerSha256: SHA256,
        text: { type: 'string' },
        target: { anyOf: [{ type: 'integer' }, { const: 'pred' }] },
        xsysVersion: { type: 'string' },
        ortVersion: { type: 'string' },
        timingMs: { type: 'object', required: ['compile', 'run', 'total'], properties: { compile: { type: 'number' }, run: { type: 'number' }, total: { type: 'number' } } },
      },
    },
  },
};

export const inputsExplainRequestSchema = {
  type: 'object',
  required: ['modelId', 'inputs', 'method'],
  additionalProperties: false,
  properties: {
    modelId: SHA256,
    inputs: {
      type: 'object',
      minProperties: 1,
      maxProperties: 64,
      description: "input name → one sample as a base64 .npy (with or without the batch axis); every input of the model",
      additionalProperties: { type: 'object', required: ['npy'], additionalProperties: false, properties: { npy: { type: 'string', minLength: 1 }, name: { type: 'string', maxLength: 200 } } },
    },
    method: { type: 'string', enum: ['lrp', 'gradient', 'gradient-x-input'] },
    composite: { type: 'string', enum: COMPOSITE_CHOICES, description: 'LRP composite; default attnlrp for token models, else epsilon-plus-flat' },
    params: { type: 'object', maxProperties: 32, additionalProperties: { type: ['number', 'string'] } },
    target: { anyOf: [{ type: 'integer', minimum: 0 }, { const: 'pred' }] },
  },
};

export const inputsExplainResultSchema = {
  type: 'object',
  required: ['modelId', 'method', 'composite', 'params', 'target', 'topk', 'attributions', 'relevanceSum', 'provenance'],
  properties: {
    modelId: SHA256,
    method: { type: 'string' },
    composite: { type: ['string', 'null'] },
    params: { type: 'object', additionalProperties: { type: ['number', 'string'] } },
    target: { type: 'integer' },
    topk: textExplainResultSchema.properties.topk,
    attributions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['input', 'dims', 'attribution', 'relevanceSum'],
        properties: { input: { type: 'string' }, dims: { type: 'array', items: { type: 'integer' } }, attribution: SHA256, heatmap: SHA256, relevanceSum: { type: 'number' } },
      },
    },
    tokens: { type: 'object', required: ['input', 'relevance'], properties: { input: { type: 'string' }, relevance: { type: 'array', items: { type: 'number' } } } },
    relevanceSum: { type: 'number' },
    provenance: {
      type: 'object',
      required: ['modelSha256', 'inputs', 'target', 'xsysVersion', 'ortVersion', 'timingMs'],
      properties: {
        modelSha256: SHA256,
        inputs: { type: 'object', additionalProperties: { type: 'object', required: ['sha256'], properties: { sha256: SHA256, name: { type: 'string' } } } },
        target: { anyOf: [{ type: 'integer' }, { const: 'pred' }] },
        xsysVersion: { type: 'string' },
        ortVersion: { type: 'string' },
        timingMs: textExplainResultSchema.properties.provenance.properties.timingMs,
      },
    },
  },
};

const inputName = { type: 'string', maxLength: 200, description: 'the file name, shown in History' };

export const inputSpecSchema = {
  oneOf: [
    { type: 'object', required: ['kind', 'png'], additionalProperties: false, properties: { kind: { const: 'image' }, png: { type: 'string', description: 'base64 of an image file (PNG, JPEG, WebP)' }, name: inputName } },
    { type: 'object', required: ['kind', 'npy'], additionalProperties: false, properties: { kind: { const: 'npy' }, npy: { type: 'string', description: 'base64 of a .npy holding one preprocessed sample' }, name: inputName } },
    { type: 'object', required: ['kind', 'dataset', 'index'], additionalProperties: false, properties: { kind: { const: 'sample' }, dataset: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$' }, index: { type: 'integer', minimum: 0 } } },
  ],
};

const methodFields = {
  method: { type: 'string', enum: [...METHOD_NAMES] },
  composite: { type: 'string', enum: COMPOSITE_CHOICES, description: `LRP composite (method lrp only); default ${DEFAULT_COMPOSITE}` },
  params: { type: 'object', maxProperties: 32, additionalProperties: { type: ['number', 'string'] }, description: 'composite or method parameters (GET /api/methods declares them: epsilon, gamma, samples, steps, window, layer …); missing ones take their defaults, and the stored provenance lists them all' },
};
const target = { anyOf: [{ type: 'integer', minimum: 0 }, { const: 'pred' }] };
/** Maps as outputs (segmentation, detection; compiler/region.ts): the region whose output sum is explained. */
const region = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  description: 'segmentation/detection models: explain the sum of the output over this region (a channel on axis 1, a half-open box on the last two axes, or both) instead of one class; the target is then 0',
  properties: {
    channel: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    box: { type: 'array', minItems: 2, maxItems: 4, items: { type: 'integer', minimum: 0, maximum: 1_000_000 }, description: '[y0, x0, y1, x1] (or [x0, x1] on the last axis)' },
  },
};

export const explainRequestSchema = {
  type: 'object',
  required: ['modelId', 'input', 'method'],
  additionalProperties: false,
  properties: { modelId: SHA256, input: inputSpecSchema, preprocess: preprocessSchema, target, region, ...methodFields },
};

export const compareRequestSchema = {
  type: 'object',
  required: ['modelId', 'input', 'methods'],
  additionalProperties: false,
  properties: {
    modelId: SHA256,
    input: inputSpecSchema,
    preprocess: preprocessSchema,
    target,
    methods: { type: 'array', minItems: 1, maxItems: 8, items: { type: 'object', required: ['method'], additionalProperties: false, properties: methodFields } },
  },
};

export const jobRequestSchema = {
  type: 'object',
  required: ['kind'],
  properties: { kind: { type: 'string', description: 'a registered job kind (GET /api/jobs/kinds)' } },
  additionalProperties: true,
};

const topk = { type: 'array', items: { type: 'object', required: ['class', 'score', 'prob'], properties: { class: { type: 'integer' }, score: { type: 'number' }, prob: { type: 'number' } } } };

export const components: Record<string, Record<string, unknown>> = {
  Problem: {
    type: 'object',
    required: ['type', 'title', 'status', 'detail'],
    properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, instance: { type: 'string' }, node: { type: 'string' }, field: { type: 'string' }, hint: { type: 'string' } },
  },
  Preprocess: preprocessSchema,
  ModelSummary: {
    type: 'object',
    required: ['id', 'name', 'bytes', 'inputs', 'outputs', 'opset', 'createdAt'],
    properties: { id: SHA256, name: { type: 'string' }, bytes: { type: 'integer' }, inputs: { type: 'array', items: tensorSpec }, outputs: { type: 'array', items: tensorSpec }, opset: { type: 'integer' }, preprocess: preprocessSchema, tokenizer: { ...SHA256, description: "sha256 of the model's tokenizer.json (text models)" }, createdAt: { type: 'string' } },
  },
  ModelDetail: {
    type: 'object',
    required: ['id', 'opHistogram', 'nodes', 'unsupported', 'composite'],
    properties: {
      id: SHA256,
      composite: { type: 'string' },
      opHistogram: { type: 'object', additionalProperties: { type: 'integer' } },
      nodes: { type: 'array', items: { type: 'object', required: ['name', 'opType'], properties: { name: { type: 'string' }, opType: { type: 'string' }, rule: { type: 'string' } } } },
      unsupported: { type: 'array', items: { type: 'object', required: ['node', 'opType', 'hint'], properties: { node: { type: 'string' }, opType: { type: 'string' }, hint: { type: 'string' } } } },
    },
  },
  Dataset: {
    type: 'object',
    required: ['name', 'count', 'shape', 'preprocess'],
    properties: { name: { type: 'string' }, count: { type: 'integer' }, shape: { type: 'array', items: { type: 'integer' } }, preprocess: preprocessSchema, labels: { type: 'array', items: { type: 'integer' } } },
  },
  ResultRecord: {
    type: 'object',
    required: ['id', 'modelId', 'inputId', 'method', 'composite', 'params', 'target', 'relevanceSum', 'createdAt', 'artefacts', 'provenance', 'topk'],
    properties: {
      id: ULID,
      modelId: SHA256,
      inputId: SHA256,
      method: { type: 'string' },
      composite: { type: ['string', 'null'] },
      params: { type: 'object', additionalProperties: { type: ['number', 'string'] } },
      target: { type: 'integer' },
      relevanceSum: { type: 'number' },
      topk,
      jobId: ULID,
      key: { type: 'string', description: 'provenance key: asking for the same explanation again returns this record with count + 1' },
      count: { type: 'integer', minimum: 1, description: 'how many times this explanation was asked for' },
      lastAt: { type: 'string', description: 'when it was last asked for, if after createdAt' },
      createdAt: { type: 'string' },
      artefacts: {
        type: 'object',
        required: ['heatmap', 'attribution', 'input'],
        properties: { heatmap: { anyOf: [SHA256, { type: 'null' }] }, attribution: SHA256, input: SHA256, display: SHA256 },
      },
      provenance: {
        type: 'object',
        required: ['modelSha256', 'inputSha256', 'method', 'composite', 'params', 'xsysVersion', 'ortVersion', 'timingMs'],
        properties: {
          modelSha256: SHA256,
          inputSha256: SHA256,
          method: { type: 'string' },
          composite: { type: ['string', 'null'] },
          params: { type: 'object', additionalProperties: { type: ['number', 'string'] } },
          target,
          region,
          xsysVersion: { type: 'string' },
          ortVersion: { type: 'string' },
          reproducedFrom: ULID,
          inputSource: {
            type: 'object',
            required: ['kind'],
            description: 'the input as the user picked it',
            properties: { kind: { type: 'string', enum: ['sample', 'image', 'npy'] }, dataset: { type: 'string' }, index: { type: 'integer' }, name: { type: 'string' } },
          },
          timingMs: { type: 'object', required: ['compile', 'run', 'total'], properties: { compile: { type: 'number' }, run: { type: 'number' }, total: { type: 'number' } } },
        },
      },
    },
  },
  Reproduction: {
    type: 'object',
    required: ['resultId', 'reproducedId', 'maxAbsDiff', 'maxRelDiff', 'identical'],
    properties: { resultId: ULID, reproducedId: ULID, maxAbsDiff: { type: 'number' }, maxRelDiff: { type: 'number' }, identical: { type: 'boolean' } },
  },
  Job: {
    type: 'object',
    required: ['id', 'kind', 'state', 'progress', 'resultIds', 'params', 'attempts', 'createdAt', 'updatedAt'],
    properties: {
      id: ULID,
      kind: { type: 'string' },
      params: { type: 'object' },
      state: { type: 'string', enum: ['queued', 'running', 'done', 'failed', 'cancelled'] },
      progress: { type: 'object', required: ['done', 'total'], properties: { done: { type: 'integer' }, total: { type: 'integer' } } },
      error: { type: 'string' },
      resultIds: { type: 'array', items: ULID },
      result: { type: 'object', description: "what the job produced as a whole; for 'evaluate' an EvaluationOutcome (docs/workbench-api.md)" },
      attempts: { type: 'integer' },
      createdAt: { type: 'string' },
      updatedAt: { type: 'string' },
    },
  },
};

export const cmapQuery = { type: 'string', enum: [...COLORMAP_NAMES] };
