/**
 * Routes are declared once, through `ApiRoutes.add`: the same declaration registers the Fastify route (with its
 * request schemas, which Fastify validates) and becomes an operation of the OpenAPI 3.1 document at /openapi.json, so
 * the published description cannot drift from what the server accepts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault, RouteGenericInterface, RouteHandlerMethod } from 'fastify';

import { VERSION } from '../version.js';
import { components } from './schemas.js';

type Json = Record<string, unknown>;

/** Route config read by the auth hook (src/server/auth.ts) from the route that matched. */
export interface RouteAccess {
  public: boolean;
}

export interface ApiRoute<G extends RouteGenericInterface = RouteGenericInterface> {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  summary: string;
  tag: string;
  /** Served without a token (health). Every other route requires one when the server has tokens: deny by default. */
  public?: boolean;
  params?: Json;
  querystring?: Json;
  body?: Json;
  /** The body schema to publish when it is more specific than the validated one (computed when the document is). */
  documentedBody?: () => Json;
  /** Content type of a raw body (model upload). */
  rawBody?: { contentType: string; description: string };
  /** Status → [content type, schema or component name, description]. */
  responses: Record<number, [string, Json | string | null, string]>;
  handler: (req: FastifyRequest<G>, reply: FastifyReply) => Promise<unknown>;
}

const schemaOf = (s: Json | string | null): Json | undefined => (s === null ? undefined : typeof s === 'string' ? { $ref: `#/components/schemas/${s}` } : s);

export class ApiRoutes {
  private readonly routes: ApiRoute<any>[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any

  constructor(private readonly app: FastifyInstance) {}

  add<G extends RouteGenericInterface>(route: ApiRoute<G>): void {
    this.routes.push(route);
    const schema: Json = {};
    if (route.params) schema.params = route.params;
    if (route.querystring) schema.querystring = route.querystring;
    if (route.body) schema.body = route.body;
    const handler = route.handler as unknown as RouteHandlerMethod<RawServerDefault, IncomingMessage, ServerResponse, G>;
    const config: RouteAccess = { public: route.public === true };
    this.app.route<G>({ method: route.method, url: route.url, schema, handler, config });
  }

  document(): Json {
    const paths: Record<string, Record<string, Json>> = {};
    for (const r of this.routes) {
      const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const parameters: Json[] = [];
      for (const [where, schema] of [['path', r.params], ['query', r.querystring]] as const) {
        const props = (schema?.properties ?? {}) as Record<string, Json>;
        const required = (schema?.required ?? []) as string[];
        for (const [name, s] of Object.entries(props)) parameters.push({ name, in: where, required: where === 'path' || required.includes(name), schema: s });
      }
      const responses: Record<string, Json> = {};
      for (const [status, [type, s, description]] of Object.entries(r.responses)) {
        const schema = schemaOf(s);
        responses[status] = { description, ...(type ? { content: { [type]: schema ? { schema } : {} } } : {}) };
      }
      responses.default = { description: 'error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
      const body = r.body
        ? { required: true, content: { 'application/json': { schema: r.documentedBody?.() ?? r.body } } }
        : r.rawBody
          ? { required: true, description: r.rawBody.description, content: { [r.rawBody.contentType]: { schema: { type: 'string', format: 'binary' } } } }
          : undefined;
      (paths[path] ??= {})[r.method.toLowerCase()] = {
        summary: r.summary,
        tags: [r.tag],
        operationId: `${r.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
        ...(parameters.length ? { parameters } : {}),
        ...(body ? { requestBody: body } : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info: { title: 'xsys workbench API', version: VERSION, description: 'Explain ONNX models (LRP, gradients, perturbation) over HTTP; results are stored with provenance. See docs/workbench-api.md.' },
      paths,
      components: {
        schemas: components,
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'required when the server binds to a non-loopback address: read tokens for GET, write tokens for everything' } },
      },
      security: [{}, { bearer: [] }],
    };
  }
}
