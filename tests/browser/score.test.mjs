// The scoring page in headless Chromium, on WebGPU (SwiftShader) and on the
// CPU fallback (WebGPU disabled): a bundle and images made by the native CLI
// (`just browser-fixture`) must get the scores `spotdiff score` wrote.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { serve, browser, ARTIFACTS } from './server.mjs';

const FIXTURE = new URL('../../target/browser-fixture/', import.meta.url).pathname;
const TOLERANCE = 1e-3;

let site;
let expected;
let threshold;
const contexts = {};

before(async () => {
  site = await serve();
  contexts.webgpu = await browser({ webgpu: true });
  contexts.cpu = await browser({ webgpu: false });
  const scored = JSON.parse(await readFile(join(FIXTURE, 'scored', 'scores.json'), 'utf8'));
  expected = scored.images;
  threshold = scored.threshold;
});

after(async () => {
  await contexts.webgpu?.close();
  await contexts.cpu?.close();
  site?.server.close();
});

async function openScorePage(context) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${site.url}score.html`);
  await page.waitForSelector('body[data-ready=true]', { timeout: 60000 });
  return { page, errors };
}

async function waitIdle(page) {
  await page.waitForFunction(() => document.body.dataset.ready === 'true'
    && document.getElementById('batch-progress').hidden
    && document.getElementById('bundle-progress').hidden, null, { timeout: 300000 });
}

async function loadBundle(page) {
  await page.setInputFiles('#bundle-file', join(FIXTURE, 'bundle.spotdiff'));
  await page.waitForFunction(() => document.querySelector('[data-testid=model-info]').dataset.threshold, null, { timeout: 300000 });
  await waitIdle(page);
}

const fileName = (path) => path.replace(/^.*\//, '');

async function scoresShown(page) {
  return page.$$eval('#results tbody tr', (rows) => rows.map((row) => ({
    name: row.dataset.name,
    score: Number(row.cells[1].dataset.score),
    verdict: row.cells[2].textContent,
  })));
}

for (const backend of ['webgpu', 'cpu']) {
  test(`scores on ${backend} equal \`spotdiff score\``, async () => {
    const { page, errors } = await openScorePage(contexts[backend]);
    assert.equal(await page.evaluate(() => document.body.dataset.backend), backend);
    await loadBundle(page);
    const shownThreshold = Number(await page.getAttribute('[data-testid=model-info]', 'data-threshold'));
    assert.ok(Math.abs(shownThreshold - threshold) <= 1e-6 * Math.max(1, threshold));
    await page.setInputFiles('#image-files', expected.map((row) => join(FIXTURE, row.file)));
    await waitIdle(page);
    const shown = await scoresShown(page);
    assert.equal(shown.length, expected.length);
    for (const want of expected) {
      const got = shown.find((row) => row.name === fileName(want.file));
      assert.ok(got, `${want.file} is in the table`);
      assert.ok(Math.abs(got.score - want.score) <= TOLERANCE * Math.max(1, Math.abs(want.score)),
        `${want.file} on ${backend}: ${got.score} vs ${want.score} from spotdiff score`);
      assert.equal(got.verdict, want.anomalous ? 'anomalous' : 'normal');
    }
    assert.equal(await page.locator('#gallery canvas').count(), expected.length);
    assert.equal(await page.locator('#batch-progress').isVisible(), false, 'the progress bar hides when the batch is done');
    await page.screenshot({ path: `${ARTIFACTS}score-${backend}.png`, fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test('masks give image- and pixel-level metrics computed in wasm', async () => {
  const { page } = await openScorePage(contexts.cpu);
  await loadBundle(page);
  const data = join(FIXTURE, 'data', 'cashew', 'Data');
  const normals = (await readdir(join(data, 'Images', 'Normal'))).sort().slice(0, 3);
  const anomalies = (await readdir(join(data, 'Images', 'Anomaly'))).sort().slice(0, 3);
  const masks = anomalies.map((name) => join(data, 'Masks', 'Anomaly', name.replace(/\.JPG$/i, '.png')));
  await page.setInputFiles('#image-files', [
    ...normals.map((name) => join(data, 'Images', 'Normal', name)),
    ...anomalies.map((name) => join(data, 'Images', 'Anomaly', name)),
    ...masks,
  ]);
  await waitIdle(page);
  await page.waitForSelector('#metrics table');
  const cells = await page.$$eval('#metrics tr[data-level] td', (tds) => tds.map((td) => td.textContent));
  assert.equal(cells.length, 8);
  for (const value of [cells[1], cells[2], cells[3], cells[5], cells[6], cells[7]]) {
    const number = Number(value);
    assert.ok(number >= 0 && number <= 100, `metric ${value} is a percentage`);
  }
  assert.equal(await page.locator('#results tbody tr').count(), 6);
  await page.close();
});

test('a corrupt image and a wrong bundle show messages and keep the results', async () => {
  const { page, errors } = await openScorePage(contexts.cpu);
  await loadBundle(page);
  const [first] = expected;
  await page.setInputFiles('#image-files', join(FIXTURE, first.file));
  await waitIdle(page);
  await page.setInputFiles('#image-files', { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('\x89PNG\r\n\x1a\nnot really a png') });
  await waitIdle(page);
  const messages = await page.textContent('#messages');
  assert.match(messages, /broken\.png: /);
  await page.setInputFiles('#bundle-file', { name: 'wrong.spotdiff', mimeType: 'application/octet-stream', buffer: Buffer.from('this is not a bundle') });
  await waitIdle(page);
  assert.match(await page.textContent('#messages'), /wrong\.spotdiff: /);
  // The first image's score and the loaded model are still there.
  const shown = await scoresShown(page);
  const kept = shown.find((row) => row.name === fileName(first.file));
  assert.ok(Math.abs(kept.score - first.score) <= TOLERANCE * Math.max(1, Math.abs(first.score)));
  assert.match(await page.textContent('[data-testid=model-info]'), /bundle\.spotdiff/);
  assert.deepEqual(errors, []);
  await page.close();
});
