// The scoring page. Every number (scores, maps, masks, metrics) comes from the
// spotdiff core compiled to wasm; this script reads files, draws canvases and
// keeps the table. A failure is reported next to the file that caused it and
// never clears what is already on the page.

const $ = (id) => document.getElementById(id);
const IMAGE_TYPES = /\.(png|jpe?g)$/i;

// Each load of the wasm module is a fresh instance: after a WebGPU failure
// (device lost, a panic inside the GPU path) the old instance is abandoned.
let wasm = null;
let instances = 0;
async function loadWasm() {
  instances += 1;
  const module = await import(`./pkg/spotdiff_web.js?instance=${instances}`);
  await module.default();
  wasm = module;
}

const state = {
  bundleBytes: null,
  bundleName: '',
  scorer: null,
  info: null,
  backend: 'cpu',
  webgpuAdapter: null,
  rows: [], // { name, file, result, mask, error }
  masks: new Map(), // stem -> File
  sort: { key: null, ascending: true },
  threshold: null,
  busy: Promise.resolve(),
};

function message(text, kind = 'error') {
  const item = document.createElement('li');
  item.className = kind;
  item.textContent = text;
  $('messages').append(item);
}

function errorText(error) {
  if (error instanceof Error) return error.message;
  return String(error);
}

// A WebAssembly trap means the instance is unusable; anything else is a
// message from the core about the input.
function isTrap(error) {
  return error instanceof WebAssembly.RuntimeError;
}

function stemOf(name) {
  const base = name.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');
  return base;
}

function maskStem(name) {
  return stemOf(name).replace(/_mask$/, '');
}

// ---------------------------------------------------------------- backends

async function detectWebGpu() {
  if (!('gpu' in navigator)) return null;
  try {
    return await navigator.gpu.requestAdapter();
  } catch {
    return null;
  }
}

function showBackend() {
  const note = $('backend-note');
  $('backend-webgpu').disabled = !state.webgpuAdapter;
  $(state.backend === 'webgpu' ? 'backend-webgpu' : 'backend-cpu').checked = true;
  if (!state.webgpuAdapter) {
    note.textContent = 'WebGPU is not available in this browser: running on the CPU.';
  } else {
    const fallback = state.webgpuAdapter.isFallbackAdapter || state.webgpuAdapter.info?.isFallbackAdapter;
    note.textContent = state.backend === 'webgpu'
      ? `running on WebGPU${fallback ? ' (a software fallback adapter)' : ''}`
      : 'running on the CPU';
  }
  document.body.dataset.backend = state.backend;
}

// ---------------------------------------------------------------- bundle

async function fetchWithProgress(url, progress) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length')) || 0;
  if (!response.body || !total) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    progress.value = received / total;
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

async function makeScorer() {
  const scorer = await wasm.Scorer.load(state.bundleBytes, state.backend);
  state.scorer?.free();
  state.scorer = scorer;
  state.info = JSON.parse(scorer.info());
  const info = state.info;
  $('model-info').textContent = `${state.bundleName}: class “${info.class_name}”, ${info.backbone} ×${info.width_multiplier} at ${info.input_width}×${info.input_height} px, d = ${info.d}, fitted on ${info.fitted_images} images; threshold ${info.threshold.toFixed(4)} (max-F1 on held-out images); ${info.backend}.`;
  $('model-info').dataset.threshold = String(info.threshold);
  if (state.threshold === null) state.threshold = info.threshold;
}

async function loadBundle(bytesPromise, name) {
  const progress = $('bundle-progress');
  progress.hidden = false;
  progress.removeAttribute('value');
  document.body.dataset.ready = 'false';
  try {
    const bytes = await bytesPromise(progress);
    const previous = state.bundleBytes;
    const previousName = state.bundleName;
    state.bundleBytes = bytes;
    state.bundleName = name;
    state.threshold = null;
    try {
      await makeScorer();
    } catch (error) {
      state.bundleBytes = previous;
      state.bundleName = previousName;
      throw error;
    }
    await rescoreAll();
  } catch (error) {
    message(`${name}: ${errorText(error)}`);
    if (isTrap(error)) await recoverFromTrap();
  } finally {
    progress.hidden = true;
    document.body.dataset.ready = 'true';
  }
}

async function recoverFromTrap() {
  const detail = wasm?.lastPanic?.() ?? '';
  message(`The ${state.backend === 'webgpu' ? 'WebGPU' : 'CPU'} computation failed${detail ? ` (${detail})` : ''}; restarting the scorer on the CPU.`);
  state.scorer = null;
  state.backend = 'cpu';
  await loadWasm();
  showBackend();
  if (state.bundleBytes) await makeScorer();
}

async function listBundles() {
  const select = $('bundle-list');
  try {
    const response = await fetch('models/index.json');
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const index = await response.json();
    select.replaceChildren(new Option('choose a bundled model…', ''));
    for (const entry of index.bundles) select.append(new Option(`${entry.class_name} (${entry.file})`, entry.file));
  } catch {
    select.replaceChildren(new Option('no bundled models (run `just demo`)', ''));
  }
}

// ---------------------------------------------------------------- scoring

async function scoreRow(row) {
  row.error = null;
  try {
    const bytes = new Uint8Array(await row.file.arrayBuffer());
    const scored = await state.scorer.score(bytes);
    row.result = {
      score: scored.score,
      width: scored.width,
      height: scored.height,
      sourceWidth: scored.sourceWidth,
      sourceHeight: scored.sourceHeight,
      map: scored.map(),
      rgba: scored.rgba(),
    };
    scored.free();
  } catch (error) {
    row.result = null;
    row.error = errorText(error);
    message(`${row.name}: ${row.error}`);
    if (isTrap(error)) await recoverFromTrap();
    return;
  }
  await attachMask(row);
}

async function attachMask(row) {
  row.mask = null;
  const file = state.masks.get(stemOf(row.name));
  if (!file || !row.result) return;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    row.mask = state.scorer.mask(bytes, row.result.sourceWidth, row.result.sourceHeight);
  } catch (error) {
    message(`${file.name} (mask of ${row.name}): ${errorText(error)}`);
  }
}

async function rescoreAll() {
  if (!state.scorer) return;
  await runBatch(state.rows);
}

async function runBatch(rows) {
  const progress = $('batch-progress');
  progress.hidden = false;
  progress.max = rows.length;
  progress.value = 0;
  document.body.dataset.ready = 'false';
  for (const row of rows) {
    await scoreRow(row);
    progress.value += 1;
    render();
    // Yield so the progress bar and the table repaint between images.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  progress.hidden = true;
  render();
  renderMetrics();
  document.body.dataset.ready = 'true';
}

function enqueue(task) {
  state.busy = state.busy.then(task, task);
  return state.busy;
}

// A dropped file is a mask when it is named `<stem>_mask.*` (MVTec AD) or is
// a PNG sharing its stem with a JPEG image (VisA); everything else is an
// image, and the core's decoder reports what is not one.
function isMaskFile(file, dropped) {
  if (/_mask\.[^.]*$/i.test(file.name)) return true;
  if (!/\.png$/i.test(file.name)) return false;
  const stem = stemOf(file.name);
  const jpeg = (name) => /\.jpe?g$/i.test(name) && stemOf(name) === stem;
  return dropped.some((other) => jpeg(other.name)) || state.rows.some((row) => jpeg(row.name));
}

async function addFiles(files) {
  const newRows = [];
  for (const file of files) {
    if (file.name.endsWith('.spotdiff')) {
      await loadBundle(async () => new Uint8Array(await file.arrayBuffer()), file.name);
    } else if (isMaskFile(file, files)) {
      state.masks.set(maskStem(file.name), file);
    } else {
      const row = { name: file.name, file, result: null, mask: null, error: null };
      state.rows.push(row);
      newRows.push(row);
    }
  }
  if (!state.scorer) {
    if (newRows.length) message('Load a model first (step 1): the images are kept and scored as soon as one is loaded.', 'note');
    render();
    return;
  }
  await runBatch(newRows);
  for (const row of state.rows) if (!newRows.includes(row)) await attachMask(row);
  render();
  renderMetrics();
}

// ---------------------------------------------------------------- drawing

// The lowest and highest map value shown: the threshold slider spans them.
function mapRange() {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of state.rows) {
    if (!row.result) continue;
    for (const v of row.result.map) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return Number.isFinite(lo) ? [lo, Math.max(hi, lo + 1e-6)] : [0, 1];
}

// The core draws the overlay: `spotdiff score`'s colours on [0, 2·threshold]
// of the bundle's threshold, its blending, and the outline at the slider's
// threshold, so at the bundle's threshold the page and the command line show
// the same picture.
function drawRow(canvas, row) {
  const { width, height, map, rgba } = row.result;
  canvas.width = width;
  canvas.height = height;
  const pixels = wasm.scoreOverlay(rgba, map, width, height, state.info.threshold, state.threshold, Number($('opacity').value));
  const image = new ImageData(new Uint8ClampedArray(pixels.buffer, pixels.byteOffset, pixels.length), width, height);
  canvas.getContext('2d').putImageData(image, 0, 0);
}

function verdict(row) {
  if (!row.result) return row.error ? 'error' : 'pending';
  return row.result.score >= state.threshold ? 'anomalous' : 'normal';
}

function sortedRows() {
  const { key, ascending } = state.sort;
  if (!key) return state.rows;
  const value = (row) => {
    if (key === 'score') return row.result ? row.result.score : -Infinity;
    if (key === 'verdict') return verdict(row);
    if (key === 'mask') return row.mask ? 1 : 0;
    return row.name;
  };
  return [...state.rows].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    const order = x < y ? -1 : x > y ? 1 : 0;
    return ascending ? order : -order;
  });
}

function renderThreshold(range) {
  const slider = $('threshold');
  const lo = Math.min(range[0], state.threshold ?? range[0]);
  const hi = Math.max(range[1], state.threshold ?? range[1]);
  slider.min = String(lo);
  slider.max = String(hi);
  slider.step = String((hi - lo) / 1000 || 0.001);
  if (state.threshold !== null) slider.value = String(state.threshold);
  $('threshold-value').textContent = state.threshold === null ? '' : state.threshold.toFixed(4);
}

function render() {
  const section = $('results-section');
  section.hidden = state.rows.length === 0;
  if (section.hidden) return;
  const range = mapRange();
  renderThreshold(range);
  const body = $('results').tBodies[0];
  body.replaceChildren();
  const gallery = $('gallery');
  gallery.replaceChildren();
  for (const row of sortedRows()) {
    const tr = document.createElement('tr');
    tr.dataset.name = row.name;
    const cells = [
      row.name,
      row.result ? row.result.score.toFixed(4) : (row.error ? '—' : '…'),
      verdict(row),
      row.mask ? 'yes' : '',
    ];
    cells.forEach((text, index) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (index === 1 && row.result) td.dataset.score = String(row.result.score);
      if (index === 2) td.className = verdict(row);
      tr.append(td);
    });
    body.append(tr);
    if (!row.result) continue;
    const figure = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.setAttribute('aria-label', `heat map of ${row.name}`);
    const caption = document.createElement('figcaption');
    try {
      drawRow(canvas, row);
    } catch (error) {
      caption.append(`${errorText(error)}: `);
    }
    const link = document.createElement('a');
    link.textContent = 'PNG';
    link.href = '#';
    link.addEventListener('click', (event) => {
      event.preventDefault();
      canvas.toBlob((blob) => download(blob, `${stemOf(row.name)}_overlay.png`), 'image/png');
    });
    caption.append(`${row.name}: ${row.result.score.toFixed(3)} (${verdict(row)}) `, link);
    figure.append(canvas, caption);
    gallery.append(figure);
  }
  for (const th of $('results').tHead.rows[0].cells) {
    th.setAttribute('aria-sort', th.dataset.key === state.sort.key ? (state.sort.ascending ? 'ascending' : 'descending') : 'none');
  }
}

// Metrics depend on the maps and masks only, not on the sliders, so they are
// recomputed when a batch finishes or masks change, not on every redraw.
function renderMetrics() {
  const panel = $('metrics');
  const scored = state.rows.filter((row) => row.result);
  if (!state.rows.some((row) => row.mask) || scored.length === 0) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  try {
    const evaluation = new wasm.Evaluation();
    try {
      for (const row of scored) {
        const { map, width, height } = row.result;
        evaluation.push(map, width, height, row.mask ?? new Uint8Array(0), Boolean(row.mask && row.mask.some((v) => v)));
      }
    } catch (error) {
      evaluation.free();
      throw error;
    }
    // finish() consumes the evaluation on the wasm side.
    const metrics = JSON.parse(evaluation.finish());
    const percent = (x) => (x === null ? '—' : (100 * x).toFixed(1));
    panel.innerHTML = '';
    const table = document.createElement('table');
    table.setAttribute('aria-label', 'metrics');
    table.innerHTML = '<thead><tr><th></th><th>AU-ROC</th><th>AU-PR</th><th>max-F1</th></tr></thead>';
    for (const [label, key] of [['image level', 'image'], ['pixel level', 'pixel']]) {
      const tr = table.insertRow();
      tr.dataset.level = key;
      for (const text of [label, percent(metrics[key].auroc), percent(metrics[key].aupr), percent(metrics[key].max_f1)]) {
        tr.insertCell().textContent = text;
      }
    }
    panel.append(`Metrics over ${scored.length} images (${metrics.anomalous} with a defect in their mask), computed by the core in wasm:`, table);
  } catch (error) {
    panel.textContent = `Metrics: ${errorText(error)}`;
  }
}

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function csv() {
  const cells = state.rows.flatMap((row) => [row.name, row.result ? String(row.result.score) : '', String(state.threshold),
    row.result ? String(row.result.score >= state.threshold) : '', row.error ?? '']);
  return wasm.csvTable(['image', 'score', 'threshold', 'anomalous', 'error'], cells);
}

// ---------------------------------------------------------------- wiring

function wire() {
  const drop = $('drop');
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (event) => { event.preventDefault(); drop.classList.add('over'); });
  }
  for (const type of ['dragleave', 'drop']) drop.addEventListener(type, () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    const files = [...event.dataTransfer.files];
    enqueue(() => addFiles(files));
  });
  $('image-files').addEventListener('change', (event) => {
    const files = [...event.target.files];
    event.target.value = '';
    enqueue(() => addFiles(files));
  });
  $('bundle-file').addEventListener('change', (event) => {
    const [file] = event.target.files;
    event.target.value = '';
    if (file) enqueue(() => loadBundle(async () => new Uint8Array(await file.arrayBuffer()), file.name));
  });
  $('bundle-list').addEventListener('change', (event) => {
    const file = event.target.value;
    if (file) enqueue(() => loadBundle((progress) => fetchWithProgress(`models/${file}`, progress), file));
  });
  for (const id of ['backend-webgpu', 'backend-cpu']) {
    $(id).addEventListener('change', (event) => {
      state.backend = event.target.value;
      showBackend();
      enqueue(async () => {
        if (!state.bundleBytes) return;
        try {
          await makeScorer();
          await rescoreAll();
        } catch (error) {
          message(`${state.bundleName}: ${errorText(error)}`);
          if (isTrap(error)) await recoverFromTrap();
        }
      });
    });
  }
  $('opacity').addEventListener('input', render);
  $('threshold').addEventListener('input', (event) => {
    state.threshold = Number(event.target.value);
    render();
  });
  $('download-csv').addEventListener('click', () => download(new Blob([csv()], { type: 'text/csv' }), 'scores.csv'));
  $('clear').addEventListener('click', () => {
    state.rows = [];
    state.masks.clear();
    $('messages').replaceChildren();
    render();
    renderMetrics();
  });
  for (const th of $('results').tHead.rows[0].cells) {
    th.querySelector('button').addEventListener('click', () => {
      const key = th.dataset.key;
      state.sort = { key, ascending: state.sort.key === key ? !state.sort.ascending : key === 'name' };
      render();
    });
  }
}

async function main() {
  wire();
  await loadWasm();
  $('opacity').value = String(wasm.defaultOpacity());
  state.webgpuAdapter = await detectWebGpu();
  state.backend = state.webgpuAdapter ? 'webgpu' : 'cpu';
  showBackend();
  await listBundles();
  document.body.dataset.ready = 'true';
}

main().catch((error) => {
  message(`The page could not start: ${errorText(error)}`);
  document.body.dataset.ready = 'true';
});
