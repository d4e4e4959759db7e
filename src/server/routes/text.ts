import type { FastifyRequest } from 'fastify';

import type { ApiRoutes } from '../openapi.js';
import type { ServerContext } from '../context.js';
import { SHA256, inputsExplainRequestSchema, inputsExplainResultSchema, preprocessSchema, textExplainRequestSchema, textExplainResultSchema } from '../schemas.js';
import { FeedsService, type InputsExplainRequest } from '../../services/feeds-service.js';
import { TextService, type TextExplainRequest } from '../../services/text-service.js';
import type { Preprocess } from '../../store/types.js';

const idParams = { type: 'object', required: ['id'], properties: { id: SHA256 } };

/** Settings stored with a model (preprocessing, tokenizer), text explanations and models with several inputs. */
export function textRoutes(api: ApiRoutes, ctx: ServerContext): void {
  const text = new TextService(ctx.store, ctx.models);
  const feeds = new FeedsService(ctx.store, ctx.models);
  api.add({
    method: 'POST',
    url: '/api/models/:id/preprocess',
    summary: "store the model's image preprocessing (size, grayscale, mean, std, channel order, layout); used when a request gives none",
    tag: 'models',
    params: idParams,
    body: preprocessSchema,
    responses: { 200: ['application/json', 'ModelSummary', 'the model with its new settings'] },
    handler: async (req: FastifyRequest<{ Params: { id: string }; Body: Preprocess }>) => ctx.models.update(req.params.id, { preprocess: req.body }),
  });
  api.add({
    method: 'POST',
    url: '/api/models/:id/tokenizer',
    summary: "store the model's tokenizer.json (Hugging Face format); the text box of the workbench tokenises with it",
    tag: 'models',
    params: idParams,
    body: { type: 'object', required: ['model'], properties: { model: { type: 'object' } }, description: 'the tokenizer.json document' },
    responses: { 200: ['application/json', 'ModelSummary', 'the model with its tokenizer'] },
    handler: async (req: FastifyRequest<{ Params: { id: string }; Body: unknown }>) => {
      await ctx.models.get(req.params.id);
      const sha = await ctx.store.artefacts.put(TextService.check(req.body), 'application/json');
      return ctx.models.update(req.params.id, { tokenizer: sha });
    },
  });
  api.add({
    method: 'POST',
    url: '/api/explain-text',
    summary: "explain a text model on a text (tokenised with the model's tokenizer): relevance per token",
    tag: 'explain',
    body: textExplainRequestSchema,
    responses: { 200: ['application/json', textExplainResultSchema, 'tokens with their relevance, the prediction and provenance'] },
    handler: async (req: FastifyRequest<{ Body: TextExplainRequest }>) => text.explain(req.body),
  });
  api.add({
    method: 'POST',
    url: '/api/explain-inputs',
    summary: 'explain a model with several inputs (or token inputs) on one .npy per input: the attribution of every float input, relevance per token',
    tag: 'explain',
    body: inputsExplainRequestSchema,
    responses: { 200: ['application/json', inputsExplainResultSchema, 'attributions per input (artefacts), the prediction and provenance'] },
    handler: async (req: FastifyRequest<{ Body: InputsExplainRequest }>) => feeds.explain(req.body),
  });
}
