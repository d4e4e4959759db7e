/**
 * Limits on what a model may make xsys compute while it reads, inspects and compiles it. A model is untrusted input
 * (the workbench accepts uploads): every size derived from its contents — a tensor's dims, a shape computed by shape
 * inference, a kernel the backward pass enumerates — is checked against these before anything is allocated, and
 * exceeding one is a LimitExceededError (server: 422, CLI: exit 2) instead of an out-of-memory abort.
 * The README's governance section lists them; keep the two in step.
 */
export const MODEL_LIMITS = {
  /** Largest tensor rank (ONNX Runtime kernels handle far fewer; real models stay under 8). */
  maxRank: 32,
  /** Largest single dimension of a tensor. */
  maxDim: 2 ** 31 - 1,
  /** Largest element count of any tensor whose size is known at compile time (a constant or an inferred shape). */
  maxElements: 2 ** 31 - 1,
  /** Largest pooling window (kernel elements) and stride product: the MaxPool backward pass emits ops per offset. */
  maxPoolWindow: 4096,
  /** Deepest nesting of subgraphs (If/Loop/Scan bodies) the reader walks. */
  maxGraphDepth: 16,
  /** Longest shape vector tracked through shape inference (longer ones are left unknown, not refused). */
  maxShapeValues: 64,
  /** Server: seconds an upload check or one explainer compilation may take in its worker thread. */
  workerSeconds: 300,
  /** Server: heap (MB) of the worker thread that checks an upload or compiles an explainer. */
  workerHeapMb: 8192,
} as const;
