// The toy explorer page in headless Chromium: the seed's numbers appear,
// controls recompute them through the wasm core, bad input shows a message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, browser, ARTIFACTS } from './server.mjs';

let site;
let context;

before(async () => {
  site = await serve();
  context = await browser();
});

after(async () => {
  await context?.close();
  site?.server.close();
});

async function openToyPage() {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${site.url}toy.html`);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30000 });
  return { page, errors };
}

const cell = (page, key, model) => page.textContent(`[data-testid=${key}-${model}]`);

test('shows the seed models A and B with their metrics', async () => {
  const { page, errors } = await openToyPage();
  // Model B (values worked by hand in src/toy.rs): AU-ROC 98.5, AU-PR 90.6, AP 90.1, max-F1 94.7.
  assert.equal(await cell(page, 'auroc', 1), '98.5');
  assert.equal(await cell(page, 'aupr', 1), '90.6');
  assert.equal(await cell(page, 'ap', 1), '90.1');
  assert.equal(await cell(page, 'max_f1', 1), '94.7');
  // Model A: 99.5, 9.5 (the seed prints 10.5), 9.1, 16.7 (the seed prints 18.2).
  assert.equal(await cell(page, 'auroc', 0), '99.5');
  assert.equal(await cell(page, 'aupr', 0), '9.5');
  assert.equal(await cell(page, 'max_f1', 0), '16.7');
  assert.match(await page.textContent('#explanation-0'), /precision = TP\/FP instead \(10\.45%\)/);
  assert.match(await page.textContent('#lesson'), /AU-ROC flatters a detector on imbalanced data/);
  assert.equal(await page.locator('#roc polyline').count(), 2);
  await page.screenshot({ path: `${ARTIFACTS}toy.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('changing the negatives recomputes the metrics in wasm', async () => {
  const { page } = await openToyPage();
  // Model A with 1,000 negatives instead of 100,000: step k is at
  // (FPR, TPR) = (10k/1000, k/100), the diagonal, so AU-ROC is 0.5, while
  // precision stays 1/11 and AU-PR 9.5%.
  await page.fill('[aria-label="negatives of model A"]', '1000');
  await page.waitForFunction(() => document.querySelector('[data-testid=auroc-0]').textContent === '50.0');
  assert.equal(await cell(page, 'aupr', 0), '9.5');
  await page.close();
});

test('an impossible schedule shows a message and keeps the last numbers', async () => {
  const { page } = await openToyPage();
  await page.fill('[aria-label="positives of model B"]', '50');
  await page.waitForFunction(() => document.querySelector('#status').textContent.length > 0);
  assert.equal(await page.textContent('#status'), 'model B: the schedule finds 100 true positives but the test set has only 50');
  assert.equal(await cell(page, 'auroc', 1), '98.5');
  await page.close();
});

test('hovering a curve reads out an operating point', async () => {
  const { page } = await openToyPage();
  const box = await page.locator('#pr').boundingBox();
  // Model B's plateau at recall 0.9, precision 1: x = 48 + 0.9 * 300, y = 16.
  await page.mouse.move(box.x + 48 + 0.9 * 300, box.y + 16);
  assert.equal(
    await page.textContent('#readout'),
    'Model B, TP 90, FP 0: precision 100.0%, recall 90.0%, FPR 0.00%, F1 94.7%',
  );
  await page.close();
});
