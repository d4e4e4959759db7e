/**
 * Every version this build reports (CLI --version, /api/health, OpenAPI info, provenance of stored results), in one
 * place. Node-only: the ONNX Runtime version is the one of onnxruntime-node.
 */
import * as ort from 'onnxruntime-node';

/** Kept in step with package.json by the release process (a test checks they agree). */
export const VERSION = '0.1.0';

/** The ONNX Runtime that computes explanations in this process. */
export const ORT_VERSION: string = ort.env.versions.node ?? ort.env.versions.common;
