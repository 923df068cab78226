// The scoring page in headless Chromium, on WebGPU (SwiftShader) and on the
// CPU fallback (WebGPU disabled): a bundle and images made by the native CLI
// (`just browser-fixture`) must get the scores and overlays `spotdiff score`
// wrote.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
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

// The page's overlay canvas, RGBA row by row.
async function overlayPixels(page, name) {
  return page.$eval(`#gallery canvas[aria-label="heat map of ${name}"]`, (canvas) => Array.from(
    canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data,
  ));
}

// A PNG decoded by the page's browser, without colour management, as RGBA.
async function decodePng(page, bytes) {
  return page.evaluate(async (base64) => {
    const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([data], { type: 'image/png' }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d');
    context.drawImage(bitmap, 0, 0);
    return { width: bitmap.width, height: bitmap.height, rgba: Array.from(context.getImageData(0, 0, bitmap.width, bitmap.height).data) };
  }, bytes.toString('base64'));
}

// The largest difference of one colour channel, and how many channels differ by more than 1.
function channelDifference(a, b) {
  assert.equal(a.length, b.length);
  let largest = 0;
  let beyondRounding = 0;
  for (let i = 0; i < a.length; i += 1) {
    const difference = Math.abs(a[i] - b[i]);
    largest = Math.max(largest, difference);
    if (difference > 1) beyondRounding += 1;
  }
  return { largest, beyondRounding };
}

for (const backend of ['webgpu', 'cpu']) {
  test(`the overlay on ${backend} is \`spotdiff score\`'s PNG`, async () => {
    const { page, errors } = await openScorePage(contexts[backend]);
    assert.equal(await page.evaluate(() => document.body.dataset.backend), backend);
    await loadBundle(page);
    const [first] = expected;
    const name = fileName(first.file);
    await page.setInputFiles('#image-files', join(FIXTURE, first.file));
    await waitIdle(page);
    const png = await decodePng(page, await readFile(first.overlay.startsWith('/') ? first.overlay : join(FIXTURE, first.overlay)));
    const canvasSize = await page.$eval(`#gallery canvas[aria-label="heat map of ${name}"]`, (canvas) => [canvas.width, canvas.height]);
    assert.deepEqual(canvasSize, [png.width, png.height]);
    const atDefault = channelDifference(await overlayPixels(page, name), png.rgba);
    assert.ok(atDefault.beyondRounding === 0 && atDefault.largest <= 1,
      `${name} on ${backend}: ${atDefault.beyondRounding} channels differ by more than 1 (largest ${atDefault.largest})`);
    // The comparison sees a changed picture: all heat map, no image.
    await page.fill('#opacity', '1');
    const opaque = channelDifference(await overlayPixels(page, name), png.rgba);
    assert.ok(opaque.beyondRounding > 0, 'opacity 1 draws another picture');
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test('the CSV download quotes a name with a comma and a quote', async () => {
  const { page, errors } = await openScorePage(contexts.cpu);
  await loadBundle(page);
  const [first] = expected;
  const name = 'a,"b".JPG';
  await page.setInputFiles('#image-files', { name, mimeType: 'image/jpeg', buffer: await readFile(join(FIXTURE, first.file)) });
  await waitIdle(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
  const text = await readFile(await download.path(), 'utf8');
  const [score] = await page.$$eval('#results tbody tr', (rows) => rows.map((row) => row.cells[1].dataset.score));
  const shownThreshold = await page.getAttribute('[data-testid=model-info]', 'data-threshold');
  // RFC 4180 by hand: the field in quotes, its quotes doubled; an empty error column.
  assert.equal(text, `image,score,threshold,anomalous,error\n"a,""b"".JPG",${score},${shownThreshold},${first.anomalous},\n`);
  assert.deepEqual(errors, []);
  await page.close();
});

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
  // The image-level numbers are those of the scores shown, worked out here:
  // AU-ROC as the share of (anomaly, normal) pairs ranked right, AU-PR as the
  // trapezoid under the precision-recall curve from (0, 1). One decimal shown.
  const shown = await scoresShown(page);
  const anomalous = shown.filter((row) => anomalies.includes(row.name)).map((row) => row.score);
  const normal = shown.filter((row) => normals.includes(row.name)).map((row) => row.score);
  assert.equal(anomalous.length + normal.length, 6);
  assert.ok(Math.abs(Number(cells[1]) - 100 * aurocByPairs(anomalous, normal)) <= 0.05, `image AU-ROC ${cells[1]}`);
  assert.ok(Math.abs(Number(cells[2]) - 100 * auprByTrapezoid(anomalous, normal)) <= 0.05, `image AU-PR ${cells[2]}`);
  await page.close();
});

function aurocByPairs(anomalous, normal) {
  let right = 0;
  for (const a of anomalous) for (const n of normal) right += a > n ? 1 : a === n ? 0.5 : 0;
  return right / (anomalous.length * normal.length);
}

function auprByTrapezoid(anomalous, normal) {
  const thresholds = [...new Set([...anomalous, ...normal])].sort((a, b) => b - a);
  let area = 0;
  let last = [0, 1];
  for (const t of thresholds) {
    const tp = anomalous.filter((s) => s >= t).length;
    const fp = normal.filter((s) => s >= t).length;
    const point = [tp / anomalous.length, tp / (tp + fp)];
    area += (point[0] - last[0]) * (point[1] + last[1]) / 2;
    last = point;
    if (tp === anomalous.length) break;
  }
  return area;
}

// A gray 8-bit PNG of zeros, made here so a test can drop a mask of any size.
function grayPng(width, height) {
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth; colour type 0 (gray), no interlace
  const rows = Buffer.alloc((width + 1) * height); // filter byte 0, then zeros
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('a mask of another size than its image is refused with a message, the score kept', async () => {
  const { page, errors } = await openScorePage(contexts.cpu);
  await loadBundle(page);
  const [first] = expected;
  const image = fileName(first.file);
  const maskName = image.replace(/\.[^.]*$/, '_mask.png');
  await page.setInputFiles('#image-files', [
    // Playwright takes paths or buffers in one call, not both.
    { name: image, mimeType: 'image/jpeg', buffer: await readFile(join(FIXTURE, first.file)) },
    { name: maskName, mimeType: 'image/png', buffer: grayPng(8, 8) },
  ]);
  await waitIdle(page);
  const messages = await page.textContent('#messages');
  assert.ok(messages.includes(`${maskName} (mask of ${image}): the mask is 8×8 but its image is 96×96`), messages);
  const [row] = await scoresShown(page);
  assert.equal(row.name, image);
  assert.ok(Math.abs(row.score - first.score) <= TOLERANCE * Math.max(1, Math.abs(first.score)));
  assert.ok(await page.locator('#metrics').isHidden(), 'no metrics without a usable mask');
  assert.deepEqual(errors, []);
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
