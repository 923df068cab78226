// The browser half of `just bench-web`: in headless Debian Chromium, the time
// to load a bundle and to score one image on WebGPU (SwiftShader here) and on
// the CPU (burn's Flex in wasm), and the exact metrics of 10^6 scores in wasm.
//
// node benches/web.mjs REPEATS
// reads www/models/bench/{bench.spotdiff, image.JPG, metrics.scores, metrics.labels}
// (written by the recipe; www/models/ is not committed) and prints one JSON object.
import { serve, browser } from '../tests/browser/server.mjs';

const [repeatsText = '5'] = process.argv.slice(2);
const repeats = Number(repeatsText);
const site = await serve();
const results = {};

async function measure(backend) {
  const context = await browser({ webgpu: backend === 'webgpu' });
  try {
    const page = await context.newPage();
    await page.goto(`${site.url}score.html`);
    await page.waitForSelector('body[data-ready=true]', { timeout: 60000 });
    return await page.evaluate(async ({ backend, repeats }) => {
      const wasm = await import('./pkg/spotdiff_web.js');
      await wasm.default();
      const fetchBytes = async (name) => new Uint8Array(await (await fetch(`models/bench/${name}`)).arrayBuffer());
      let t = performance.now();
      const bundleBytes = await fetchBytes('bench.spotdiff');
      const fetchMs = performance.now() - t;
      const imageBytes = await fetchBytes('image.JPG');
      t = performance.now();
      const scorer = await wasm.Scorer.load(bundleBytes, backend);
      const loadMs = performance.now() - t;
      t = performance.now();
      const first = await scorer.score(imageBytes);
      const firstMs = performance.now() - t;
      const score = first.score;
      first.free();
      const times = [];
      for (let i = 0; i < repeats; i += 1) {
        t = performance.now();
        const scored = await scorer.score(imageBytes);
        times.push(performance.now() - t);
        scored.free();
      }
      times.sort((a, b) => a - b);
      const out = { backend, bundle_fetch_ms: fetchMs, bundle_load_ms: loadMs, first_image_ms: firstMs, median_image_ms: times[Math.floor(times.length / 2)], score };
      if (backend === 'cpu') {
        const floats = new Float32Array((await fetchBytes('metrics.scores')).buffer);
        const labelBytes = await fetchBytes('metrics.labels');
        t = performance.now();
        const metrics = JSON.parse(wasm.binaryMetrics(floats, labelBytes));
        out.metrics_ms = performance.now() - t;
        out.metrics_count = floats.length;
        out.auroc = metrics.auroc;
        out.aupr = metrics.aupr;
      }
      return out;
    }, { backend, repeats });
  } finally {
    await context.close();
  }
}

for (const backend of ['webgpu', 'cpu']) {
  results[backend] = await measure(backend);
}
site.server.close();
console.log(JSON.stringify(results, null, 2));
