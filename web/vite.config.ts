/**
 * The workbench UI. Built to web/dist and served by `xsys serve` at `/`. onnxruntime-web's WebAssembly binary is copied
 * next to the app (dist/ort/) and the app points ort.env.wasm.wasmPaths there, so on-device explanation never
 * fetches code from a CDN and the build needs no network.
 */
import { copyFileSync, createReadStream, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const ortDist = resolve(here, '../node_modules/onnxruntime-web/dist');
// The 'jsep' build runs both onnxruntime-web's WASM and its WebGPU backend: its loader (.mjs) and binary (.wasm).
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

function ortRuntimeFiles(): Plugin {
  let outDir = '';
  return {
    name: 'xsys-ort-runtime-files',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = req.url?.match(/^\/ort\/([\w.-]+)$/)?.[1];
        if (!name || !ORT_FILES.includes(name)) return next();
        res.setHeader('Content-Type', name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        createReadStream(join(ortDist, name)).pipe(res);
      });
    },
    closeBundle() {
      mkdirSync(join(outDir, 'ort'), { recursive: true });
      for (const f of ORT_FILES) {
        if (!existsSync(join(ortDist, f))) throw new Error(`onnxruntime-web file ${f} is missing in ${ortDist}; run npm ci`);
        copyFileSync(join(ortDist, f), join(outDir, 'ort', f));
      }
    },
  };
}

export default defineConfig({
  root: here,
  // Relative asset URLs: the app works wherever the service mounts it.
  base: './',
  plugins: [react(), ortRuntimeFiles()],
  // onnxruntime-web's "extern wasm" entry loads its runtime from ort.env.wasm.wasmPaths (dist/ort/) instead of having
  // the bundler emit a second, hashed copy of the 28 MB binary.
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:7860', '/openapi.json': 'http://127.0.0.1:7860' } },
});
