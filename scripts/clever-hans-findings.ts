/**
 * Draws the README's Clever-Hans figures and writes the numbers beside them (docs/clever-hans/):
 *   spray-embedding.png   SpRAy's UMAP map of 150 class-3 heatmaps (every third image with the square), by cluster
 *   spray-clusters.png    each cluster's mean heatmap
 *   spray-members.png     the first members of each cluster (one row per cluster)
 *   findings.json         SpRAy purity/recall, PCX outlier rates per class, TCAV per class
 *
 *   node --import tsx scripts/clever-hans-findings.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadAll, pcxFinding, sprayFinding, tcavFinding } from '../examples/clever-hans/findings.js';
import { writePng } from '../src/render/png.js';
import { heatmapStrip, imageStrip, scatterImage } from '../src/render/strategy-images.js';

const OUT = 'docs/clever-hans';
await mkdir(OUT, { recursive: true });
const { mx, data, spec } = await loadAll();
const s = await sprayFinding(mx, data, spec);
await writePng(`${OUT}/spray-embedding.png`, scatterImage(s.result.embedding!, s.result.labels, 320, 3));
await writePng(`${OUT}/spray-clusters.png`, heatmapStrip(s.result.clusters.map((c) => c.meanHeatmap), 28, 28), 4);
for (const c of s.result.clusters) await writePng(`${OUT}/spray-members-${c.label}.png`, imageStrip(s.images, c.members.slice(0, 8), 28, 28), 3);
const p = await pcxFinding(mx, data, spec);
const t = await tcavFinding(mx, data, spec, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
const findings = {
  spray: {
    heatmaps: s.artefact.length,
    withArtefact: s.artefact.reduce((a, b) => a + b, 0),
    suggestedClusters: s.result.suggestedClusters,
    eigenvalues: s.result.eigenvalues.slice(0, 6),
    clusterSizes: s.result.clusters.map((c) => c.size),
    artefactCluster: s.artefactCluster,
    purity: s.purity,
    recall: s.recall,
  },
  pcx: { outlierRate: p.outlierRate, tested: p.tested, prototypes: p.prototypes.map((q) => q.model.k), outlierQuantile: 0.05 },
  tcav: t.perClass.map((r, cls) => ({ class: cls, tcav: r.tcav, random: r.random, p: r.test.p, significant: r.significant, alphaTcav: r.alphaTcav, randomAlpha: r.randomAlpha, alphaP: r.alphaTest.p, alpha: r.alpha })),
};
await writeFile(`${OUT}/findings.json`, JSON.stringify(findings, null, 2) + '\n');
console.log(JSON.stringify(findings, null, 2));
