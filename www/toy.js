// The AU-PR vs AU-ROC explorer. Every number shown comes from the spotdiff
// core (compareToyModels); this script only draws controls and curves.
import init, { seedToyModels, compareToyModels } from './pkg/spotdiff_web.js';

const COLOURS = ['#0072B2', '#D55E00'];
const SIZE = 380, LEFT = 48, TOP = 16, PLOT = 300;
const percent = (fraction) => (100 * fraction).toFixed(1);
const $ = (id) => document.getElementById(id);

let presets = [];
let models = [];
let result = null;

function el(tag, attributes = {}, children = []) {
  const node = tag === 'svg' || ['line', 'polyline', 'text', 'circle', 'rect', 'g'].includes(tag)
    ? document.createElementNS('http://www.w3.org/2000/svg', tag)
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function numberInput(value, onChange, label) {
  const input = el('input', { type: 'number', min: '0', step: '1', value: String(value), 'aria-label': label });
  input.addEventListener('input', () => {
    const parsed = Number(input.value);
    if (input.value !== '' && Number.isInteger(parsed) && parsed >= 0) onChange(parsed);
  });
  return input;
}

function renderControls() {
  const container = $('models');
  container.replaceChildren();
  models.forEach((model, index) => {
    const presetSelect = el('select', { 'aria-label': `preset of model ${index + 1}` },
      [el('option', { value: '', text: 'preset…' }),
       ...presets.map((p, i) => el('option', { value: String(i), text: `seed's model ${p.name}` }))]);
    presetSelect.addEventListener('change', () => {
      if (presetSelect.value === '') return;
      models[index] = structuredClone(presets[Number(presetSelect.value)]);
      renderControls();
      update();
    });
    const rows = model.schedule.map((segment, s) => {
      const remove = el('button', { type: 'button', text: '×', 'aria-label': 'remove segment' });
      remove.addEventListener('click', () => { model.schedule.splice(s, 1); renderControls(); update(); });
      return el('tr', {}, [
        el('td', {}, [numberInput(segment.steps, (v) => { segment.steps = v; update(); }, 'steps')]),
        el('td', {}, [numberInput(segment.true_positives_per_step, (v) => { segment.true_positives_per_step = v; update(); }, 'true positives per step')]),
        el('td', {}, [numberInput(segment.false_positives_per_step, (v) => { segment.false_positives_per_step = v; update(); }, 'false positives per step')]),
        el('td', {}, [remove]),
      ]);
    });
    const add = el('button', { type: 'button', text: 'add segment' });
    add.addEventListener('click', () => {
      model.schedule.push({ steps: 1, true_positives_per_step: 1, false_positives_per_step: 0 });
      renderControls();
      update();
    });
    container.append(el('fieldset', { class: `model-${index}` }, [
      el('legend', { text: `Model ${model.name}` }),
      presetSelect,
      el('br'),
      el('label', { text: 'anomalies (positives) ' }, [numberInput(model.positives, (v) => { model.positives = v; update(); }, `positives of model ${model.name}`)]),
      el('label', { text: 'normal samples (negatives) ' }, [numberInput(model.negatives, (v) => { model.negatives = v; update(); }, `negatives of model ${model.name}`)]),
      el('table', { class: 'schedule' }, [
        el('tr', {}, [el('th', { text: 'steps' }), el('th', { text: '+TP / step' }), el('th', { text: '+FP / step' }), el('th')]),
        ...rows,
      ]),
      add,
      el('p', { class: 'error', id: `error-${index}` }),
    ]));
  });
}

function update() {
  try {
    result = JSON.parse(compareToyModels(JSON.stringify(models)));
    $('status').textContent = '';
  } catch (error) {
    // Keep the last good curves and numbers; say what is wrong with the input.
    $('status').textContent = String(error.message ?? error);
    return;
  }
  renderMetrics();
  renderChart('roc', 'ROC', 'false positive rate', 'recall (TPR)', (p) => [p.false_positive_rate, p.recall], [0, 0]);
  renderChart('pr', 'PR', 'recall', 'precision', (p) => [p.recall, p.precision], [0, 1]);
}

function renderMetrics() {
  const rows = [
    ['AU-ROC', 'auroc', 'auroc'],
    ['AU-PR (trapezoid)', 'aupr', 'aupr'],
    ['AP (step)', 'ap', null],
    ['max-F1', 'max_f1', 'max_f1'],
    ['precision at full recall', 'precision_at_full_recall', 'precision_at_full_recall'],
  ];
  const header = el('tr', {}, [el('th', { text: 'metric (%)' }),
    ...result.models.flatMap((m) => [el('th', { text: `model ${m.name}` }), el('th', { text: 'seed prints' })])]);
  const body = rows.map(([name, key, seedKey]) => el('tr', {}, [el('td', { text: name }),
    ...result.models.flatMap((m, index) => {
      const seedValue = seedKey && m.seed ? m.seed[seedKey] : null;
      const differs = seedValue != null && Math.abs(m[key] - seedValue) > 0.0005 + 1e-12;
      return [
        el('td', { 'data-testid': `${key}-${index}`, text: percent(m[key]) }),
        el('td', { class: differs ? 'differs' : '', text: seedValue == null ? '–' : percent(seedValue) }),
      ];
    })]));
  $('metrics').replaceChildren(header, ...body);
  $('lesson').textContent = result.lesson;
  result.models.forEach((m, index) => { $(`explanation-${index}`).textContent = `Model ${m.name}: ${m.explanation}`; });
}

const sx = (x) => LEFT + x * PLOT;
const sy = (y) => TOP + (1 - y) * PLOT;

function renderChart(id, title, xLabel, yLabel, coordinates, start) {
  const svg = $(id);
  svg.replaceChildren();
  for (let tick = 0; tick <= 5; tick++) {
    const v = tick / 5;
    svg.append(
      el('line', { x1: sx(0), x2: sx(1), y1: sy(v), y2: sy(v), stroke: '#e6e9ee' }),
      el('line', { x1: sx(v), x2: sx(v), y1: sy(0), y2: sy(1), stroke: '#e6e9ee' }),
      el('text', { x: sx(0) - 6, y: sy(v) + 4, 'text-anchor': 'end', 'font-size': 11, text: v.toFixed(1) }),
      el('text', { x: sx(v), y: sy(0) + 16, 'text-anchor': 'middle', 'font-size': 11, text: v.toFixed(1) }),
    );
  }
  svg.append(
    el('rect', { x: sx(0), y: sy(1), width: PLOT, height: PLOT, fill: 'none', stroke: '#333' }),
    el('text', { x: sx(0.5), y: sy(0) + 34, 'text-anchor': 'middle', 'font-size': 12, text: xLabel }),
    el('text', { x: 12, y: sy(0.5), 'text-anchor': 'middle', 'font-size': 12, transform: `rotate(-90 12 ${sy(0.5)})`, text: yLabel }),
  );
  result.models.forEach((m, index) => {
    const points = [start, ...m.points.map(coordinates)];
    svg.append(el('polyline', {
      points: points.map(([x, y]) => `${sx(x).toFixed(2)},${sy(y).toFixed(2)}`).join(' '),
      fill: 'none', stroke: COLOURS[index], 'stroke-width': 2,
    }));
    const area = id === 'roc' ? m.auroc : m.aupr;
    // The middle of the square is clear of both seed models' curves in both charts.
    svg.append(el('text', { x: sx(0.5), y: sy(0.55) + 16 * index, 'text-anchor': 'middle', 'font-size': 12, fill: COLOURS[index],
      text: `model ${m.name}: ${title === 'ROC' ? 'AU-ROC' : 'AU-PR'} ${percent(area)}%` }));
  });
  const marker = el('circle', { r: 5, fill: 'none', 'stroke-width': 2, visibility: 'hidden' });
  svg.append(marker);
  svg.onpointermove = (event) => {
    const box = svg.getBoundingClientRect();
    const px = event.clientX - box.left, py = event.clientY - box.top;
    let best = null;
    result.models.forEach((m, index) => m.points.forEach((p) => {
      const [x, y] = coordinates(p);
      const distance = Math.hypot(sx(x) - px, sy(y) - py);
      if (!best || distance < best.distance) best = { distance, p, index, x, y };
    }));
    if (!best) return;
    marker.setAttribute('cx', sx(best.x));
    marker.setAttribute('cy', sy(best.y));
    marker.setAttribute('stroke', COLOURS[best.index]);
    marker.setAttribute('visibility', 'visible');
    const p = best.p;
    $('readout').textContent = `Model ${result.models[best.index].name}, TP ${p.true_positives}, FP ${p.false_positives}: `
      + `precision ${percent(p.precision)}%, recall ${percent(p.recall)}%, FPR ${(100 * p.false_positive_rate).toFixed(2)}%, F1 ${percent(p.f1)}%`;
  };
}

try {
  await init();
  presets = JSON.parse(seedToyModels());
  models = structuredClone(presets);
  renderControls();
  update();
  document.body.dataset.ready = 'true';
} catch (error) {
  $('status').textContent = `The page could not start: ${error.message ?? error}`;
}
