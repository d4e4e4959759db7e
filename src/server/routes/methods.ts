import { compositeDeclarations } from '../../composites/index.js';
import { methodDeclarations } from '../../methods/registry.js';
import type { ApiRoutes } from '../openapi.js';

const paramSpec = {
  type: 'object',
  required: ['name', 'type', 'description'],
  properties: {
    name: { type: 'string' },
    type: { type: 'string', enum: ['integer', 'number', 'boolean', 'string', 'enum'] },
    default: { type: ['number', 'string', 'boolean'] },
    min: { type: 'number' },
    max: { type: 'number' },
    values: { type: 'array', items: { type: 'string' } },
    description: { type: 'string' },
  },
};

export const methodsSchema = {
  type: 'object',
  required: ['methods', 'composites'],
  properties: {
    methods: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'description', 'params', 'composite', 'onePass', 'device', 'tokenInputs'],
        properties: {
          name: { type: 'string' },
          description: { type: 'string' },
          params: { type: 'array', items: paramSpec },
          composite: { type: 'boolean', description: 'takes an LRP composite, whose parameters the composite declares' },
          onePass: { type: 'boolean', description: 'one forward/backward pass rather than many runs' },
          device: { type: 'boolean', description: 'also runs in the browser (onnxruntime-web)' },
          tokenInputs: { type: 'boolean', description: 'explains models with token (integer) or several inputs' },
        },
      },
    },
    composites: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'description', 'family', 'params'],
        properties: { name: { type: 'string' }, description: { type: 'string' }, family: { type: 'string', enum: ['any', 'transformer'] }, params: { type: 'array', items: paramSpec } },
      },
    },
  },
};

/** The method registry and the named composites with their parameter declarations (the web UI's forms read them). */
export function methodRoutes(api: ApiRoutes): void {
  api.add({
    method: 'GET',
    url: '/api/methods',
    summary: 'explanation methods and LRP composites with their parameters (type, default, range, description)',
    tag: 'explain',
    responses: { 200: ['application/json', methodsSchema, 'the declarations'] },
    handler: async () => ({ methods: methodDeclarations(), composites: compositeDeclarations() }),
  });
}
