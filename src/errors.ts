/**
 * Typed errors. Every error xsys raises on purpose is an XsysError: the CLI prints its message and hint and exits
 * with its exit code instead of a stack trace. Anything else reaching the CLI is a bug and is reported as such.
 */
export class XsysError extends Error {
  /** A short suggestion of what to do about it. */
  readonly hint?: string;
  /** Process exit code the CLI uses. 2 = bad usage/input, 3 = unsupported model, 4 = runtime failure. */
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 2;
  }
}

/** A file could not be read or is not what it claims to be (truncated ONNX, bad .npy, unreadable image …). */
export class FileFormatError extends XsysError {
  readonly file: string;
  constructor(file: string, message: string, hint?: string) {
    super(`${file}: ${message}`, { hint, exitCode: 2 });
    this.file = file;
  }
}

/** A user-supplied argument or parameter is invalid (unknown composite, bad target, wrong shape …). */
export class InvalidArgumentError extends XsysError {
  readonly argument: string;
  constructor(argument: string, message: string, hint?: string) {
    super(`${argument}: ${message}`, { hint, exitCode: 2 });
    this.argument = argument;
  }
}

/** Input data is unusable: NaN/Inf values, wrong dtype or shape for the model. */
export class InputDataError extends XsysError {
  constructor(message: string, hint?: string) {
    super(message, { hint, exitCode: 2 });
  }
}

/** A node of the model cannot be handled by the compiler. */
export class UnsupportedNodeError extends XsysError {
  readonly nodeName: string;
  readonly opType: string;
  constructor(nodeName: string, opType: string, message: string, hint?: string) {
    super(`node '${nodeName}' (${opType}): ${message}`, { hint, exitCode: 3 });
    this.nodeName = nodeName;
    this.opType = opType;
  }
}

/** ONNX Runtime failed while running a (compiled) graph. */
export class RuntimeFailure extends XsysError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { hint, exitCode: 4, cause });
  }
}

/**
 * A size or parameter exceeds one of xsys's documented limits (src/onnx/limits.ts for models, src/methods/limits.ts
 * for method parameters and inputs). The server answers 422; the CLI exits 2.
 */
export class LimitExceededError extends XsysError {
  readonly what: string;
  readonly limit: number;
  /** The limits table's key (`integrated-gradients.steps`, `input.elements`), when the limit is one of its entries. */
  readonly key?: string;
  constructor(what: string, value: number | string, limit: number, hint?: string, key?: string) {
    super(`${what}: ${value} exceeds the limit of ${limit}`, { hint, exitCode: 2 });
    this.what = what;
    this.limit = limit;
    if (key !== undefined) this.key = key;
  }
}

/** The model is well-formed ONNX but uses something xsys refuses or cannot use (a data type, an oversized kernel …). */
export class UnsupportedModelError extends XsysError {
  constructor(message: string, hint?: string) {
    super(message, { hint, exitCode: 3 });
  }
}
