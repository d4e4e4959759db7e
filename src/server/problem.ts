/**
 * Errors as RFC 9457 problem details (`application/problem+json`). Every failure of a request — validation, a typed
 * xsys error from the library, a store failure, a bug — leaves the service through `toProblem`, so clients always get
 * the same shape and the process keeps serving.
 */
import { FileFormatError, InputDataError, InvalidArgumentError, LimitExceededError, RuntimeFailure, UnsupportedNodeError, XsysError } from '../errors.js';
import { StoreError } from '../store/errors.js';
import { HttpProblem } from '../services/problem.js';

export { HttpProblem, notFound } from '../services/problem.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  /** The offending ONNX node, for unsupported-node errors. */
  node?: string;
  /** The request field at fault (`target`, `params.steps`, `preprocess.size` …), for forms to mark. */
  field?: string;
  hint?: string;
}

const TYPE_BASE = 'https://xsys.dev/problems/';

/**
 * The library's typed errors name CLI flags (`--target`, `--size`), which mean nothing in a form or an API call. The
 * same error is rendered here with the request field that plays the flag's part, so the CLI and the web each read
 * their own words from one error.
 */
const FLAG_FIELDS: Record<string, string> = {
  '--target': 'target',
  '--param': 'params',
  '--size': 'preprocess.size',
  '--grayscale': 'preprocess.grayscale',
  '--mean': 'preprocess.mean',
  '--std': 'preprocess.std',
  '--method': 'method',
  '--composite': 'composite',
  '--layer': 'params.layer',
  '--masks': 'masks',
  '--text': 'text',
  '--tokenizer': 'tokenizer',
  '--input': 'input',
  '--output': 'output',
  '--position': 'position',
};

export function fieldOf(argument: string): string {
  // `--param steps` (a method parameter given on the command line) is the form's `params.steps`.
  const param = /^--param\s+(\S+)$/.exec(argument);
  if (param) return `params.${param[1]}`;
  return FLAG_FIELDS[argument] ?? argument.replace(/^--?/, '');
}

/** A message or hint with every `--flag` (and its `<placeholder>`) replaced by the field name. */
export function webWording(text: string | undefined): string | undefined {
  return text?.replace(/(^|[\s(`'"])(--[a-z][a-z0-9-]*)(=?\s?<[^>]*>)?/g, (_m, pre: string, flag: string) => `${pre}${fieldOf(flag)}`).replace(/`(\w[\w.]*)`/g, "'$1'");
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  validation?: unknown;
  validationContext?: string;
  message: string;
}

export function toProblem(err: unknown, instance?: string): Problem {
  const base = (status: number, slug: string, title: string, detail: string, extra: Partial<Problem> = {}): Problem => ({
    type: TYPE_BASE + slug,
    title,
    status,
    detail,
    ...(instance ? { instance } : {}),
    ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
  });
  if (err instanceof HttpProblem) return base(err.status, err.slug, err.title, err.message, { hint: err.hint });
  if (err instanceof StoreError) {
    if (err.reason === 'full') return base(507, 'storage-full', 'Insufficient storage', err.message, { hint: err.hint });
    return base(500, 'store-failure', 'Store failure', err.message, { hint: err.hint });
  }
  if (err instanceof LimitExceededError) {
    // The CLI's hint names `xsys serve --limit`; a form user cannot pass flags, so the web hint says who can.
    const [group, name] = (err.key ?? '').split('.', 2);
    const field = !err.key ? undefined : group === 'input' ? 'input' : `params.${name}`;
    const hint = err.key ? `this server allows at most ${err.limit}; its operator can raise the limit '${err.key}'` : webWording(err.hint);
    return base(422, 'limit-exceeded', 'Limit exceeded', err.message, { field, hint });
  }
  if (err instanceof UnsupportedNodeError) return base(422, 'unsupported-node', 'Unsupported node', err.message, { node: err.nodeName, hint: err.hint });
  if (err instanceof FileFormatError) return base(400, 'bad-file', 'Malformed file', err.message, { hint: err.hint });
  if (err instanceof InvalidArgumentError) {
    const field = fieldOf(err.argument);
    const message = err.message.startsWith(`${err.argument}: `) ? err.message.slice(err.argument.length + 2) : err.message;
    return base(400, 'invalid-argument', 'Invalid argument', `${field}: ${webWording(message)}`, { field, hint: webWording(err.hint) });
  }
  if (err instanceof InputDataError) return base(422, 'bad-input', 'Unusable input', webWording(err.message)!, { hint: webWording(err.hint) });
  if (err instanceof RuntimeFailure) return base(500, 'runtime-failure', 'ONNX Runtime failure', err.message, { hint: err.hint });
  if (err instanceof XsysError) {
    return err.exitCode === 3 ? base(422, 'unsupported-model', 'Unsupported model', webWording(err.message)!, { hint: webWording(err.hint) }) : base(400, 'invalid-request', 'Invalid request', webWording(err.message)!, { hint: webWording(err.hint) });
  }
  const fe = err as FastifyLikeError;
  if (fe && typeof fe === 'object' && 'message' in fe) {
    if (fe.validation) return base(400, 'validation', 'Request validation failed', `${fe.validationContext ?? 'request'}: ${fe.message}`);
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return base(413, 'too-large', 'Payload too large', fe.message, { hint: "the upload is larger than this server accepts; its operator can raise the limit (the server's maximum upload size)" });
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return base(415, 'unsupported-media-type', 'Unsupported media type', fe.message);
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return base(fe.statusCode, 'bad-request', 'Bad request', fe.message);
  }
  return base(500, 'internal', 'Internal error', `an unexpected error occurred: ${(err as Error)?.message ?? String(err)}`, { hint: 'this is a bug in xsys; the server keeps running' });
}
