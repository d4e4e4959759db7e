import type { ApiRoutes } from '../openapi.js';
import { compositeDeclarations, methodDeclarations } from '../../services/method-specs.js';

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
        required: ['name', 'description', 'params', 'onePass', 'device', 'tokenInputs'],
        properties: { name: { type: 'string' }, description: { type: 'string' }, params: { type: 'array', items: paramSpec }, onePass: { type: 'boolean' }, device: { type: 'boolean' }, tokenInputs: { type: 'boolean' } },
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

/** The methods and composites with their parameter declarations: the web UI builds its forms from them. */
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
