// nnet lab: the page. It draws what the server's JSON API answers and holds no model logic:
// the server preprocesses drawings, runs the network and trains; this file only shows the results.
"use strict";

const $ = (id) => document.getElementById(id);
const SEND_EVERY_MS = 100;      // while drawing, send the drawing at most this often
const PEN_WIDTH = 22;           // on the 280x280 pad: MNIST strokes are ~2 px of 28
const state = {
  view: "draw",
  model: null,                  // GET /api/model
  result: null,                 // the last forward pass shown (from /api/predict or /api/digits)
  layout: "",                   // the layer sizes the neuron columns were built for
  pinned: null,                 // {layer, index} kept in the inspector
  shown: null,                  // {layer, index} in the inspector now
  neuronCache: new Map(),
  browse: { mode: "random", cls: 0, position: null, count: 0, index: null, loaded: false },
  run: null,                    // the training run being watched
};

// ---------------------------------------------------------------------------------------------
// talking to the server

async function api(path, options = {}) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const error = new Error((body && body.error) || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function postJSON(path, data) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
}

// ---------------------------------------------------------------------------------------------
// colours

function brightness(value) {      // 0..1 -> the colour of a neuron: dark (off) to white (on)
  const v = Math.max(0, Math.min(1, value));
  const c = (lo) => Math.round(lo + (255 - lo) * v);
  return [c(38), c(42), c(50)];
}

function diverging(value) {       // -1..1 -> blue (negative), near-white (0), red (positive)
  const v = Math.max(-1, Math.min(1, value));
  const white = [247, 247, 247];
  const end = v < 0 ? [33, 102, 172] : [178, 24, 43];
  const t = Math.abs(v);
  return white.map((w, i) => Math.round(w + (end[i] - w) * t));
}

const css = (rgb) => `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;

// Display levels 0..1 for a layer's activations: bounded activations use their range, others are
// scaled by this input's largest |a| in the layer (the caption says "brighter = more active").
function levels(layer) {
  const [low, high] = layer.range || [null, null];
  if (low !== null && high !== null) return layer.a.map((a) => (a - low) / (high - low));
  let top = 0;
  for (const a of layer.a) top = Math.max(top, Math.abs(a));
  return layer.a.map((a) => (top > 0 ? Math.max(0, a) / top : 0));
}

function paintImage(canvas, values, side, colour) {   // a side x side image, one canvas pixel each
  canvas.width = side; canvas.height = side;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const rgb = colour(values[i]);
    image.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
}

// ---------------------------------------------------------------------------------------------
// the model line and banner

async function loadModel() {
  const model = await api("/api/model");
  const changed = !state.model || state.model.version !== model.version;
  state.model = model;
  if (changed) {   // another network: forget its neurons, and the one shown in the inspector
    state.neuronCache.clear();
    state.pinned = state.shown = null;
    $("inspector-body").hidden = true;
    $("inspector-empty").hidden = false;
    fillClassSelect();
  }
  const sizes = [model.input.size, ...model.layers.map((l) => l.size)].join(" → ");
  const hidden = [...new Set(model.layers.slice(0, -1).map((l) => l.activation))].join(", ");
  const test = model.summary && model.summary.scores && model.summary.scores.test;
  const accuracy = test && typeof test.accuracy === "number"
    ? ` · <b>${(test.accuracy * 100).toFixed(1)}%</b> of the test digits right` : "";
  $("model-line").innerHTML =
    `Model: <b>${escapeHTML(model.source)}</b><br>${sizes} neurons` +
    `${hidden ? " · " + hidden : ""} · ${model.layers[model.layers.length - 1].activation} output${accuracy}`;
  updateBanner();
  return changed;
}

function updateBanner() {
  const banner = $("banner");
  const running = state.run && state.run.running;
  if (state.model && !state.model.trained) {
    const where = state.view === "train" ? "watch it below" : 'see <a href="#" data-go="train">Train</a>';
    banner.innerHTML = running
      ? "<b>This network has not learned anything yet</b>: its weights are random, so its answers are guesses. " +
        `It is training right now (${where}); when it finishes, Draw and Browse use what it learned.`
      : "<b>This network has not learned anything yet</b>: its weights are random. " +
        (state.view === "train" ? "Train it here." : 'Train it in the <a href="#" data-go="train">Train</a> view.');
    banner.hidden = false;
  } else if (running && state.view !== "train") {
    banner.innerHTML = "A new network is training (see <a href=\"#\" data-go=\"train\">Train</a>). " +
      "The current model keeps answering until the run ends.";
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

function escapeHTML(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// ---------------------------------------------------------------------------------------------
// views

function showView(view) {
  state.view = view;
  for (const tab of document.querySelectorAll(".tabs button")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === view));
  }
  $("view-look").hidden = view === "train";
  $("view-train").hidden = view !== "train";
  $("source-draw").hidden = view !== "draw";
  $("source-browse").hidden = view !== "browse";
  updateBanner();
  if (view === "draw") {
    if (strokes.length) sendDrawing(); else showResult(null);
  } else if (view === "browse") {
    if (!state.browse.loaded) loadDigit({}); else refreshDigit();
  }
}

// ---------------------------------------------------------------------------------------------
// the network: one column per layer, built when the layer sizes change, repainted per answer

const OUTPUT_WIDTH = 215, ARROW_WIDTH = 30, MAX_GRID_HEIGHT = 300;

function buildLayers(result) {
  const root = $("layers");
  root.innerHTML = "";
  // one row for every layer: the output list keeps its width, the input grid and the hidden
  // layers share the rest (the input grid up to 196 px, a hidden layer up to 240 px)
  const last = result.layers.length - 1;
  const room = root.clientWidth - OUTPUT_WIDTH - (last + 1) * ARROW_WIDTH;
  const side = 28 * Math.max(4, Math.min(7, Math.floor(room * (last ? 0.45 : 1) / 28)));
  const perLayer = Math.max(48, Math.min(240, (room - side) / Math.max(1, last)));
  const inputColumn = column("Input layer", `${result.input.length} neurons: the pixels`);
  const grid = document.createElement("canvas");
  grid.className = "input-grid"; grid.id = "input-grid"; grid.width = grid.height = side;
  grid.style.width = grid.style.height = `${side}px`;
  inputColumn.appendChild(grid);
  if (state.view === "draw") {
    const note = document.createElement("p");
    note.className = "layer-note";
    note.style.width = `${side}px`;
    note.textContent = "Your drawing made MNIST-like: cropped, scaled into a 20×20 box and centred in 28×28, white ink on black.";
    inputColumn.appendChild(note);
  }
  root.appendChild(inputColumn);
  result.layers.forEach((layer, l) => {
    root.appendChild(arrow());
    const title = l === last ? "Output layer" : `Hidden layer ${l + 1}`;
    const col = column(title, `${layer.size} neurons · ${layer.activation}`);
    col.appendChild(l === last ? outputList(layer) : neuronGrid(layer, l, perLayer));
    root.appendChild(col);
  });
  state.layout = layoutKey(result);
}

function layoutKey(result) {
  return [$("layers").clientWidth, result.input.length, ...result.layers.map((l) => l.size)].join("-");
}

function column(title, sub) {
  const col = document.createElement("div");
  col.className = "layer";
  col.innerHTML = `<div class="layer-title">${title}</div><div class="layer-sub">${sub}</div>`;
  return col;
}

function arrow() {
  const a = document.createElement("div");
  a.className = "arrow"; a.textContent = "→"; a.setAttribute("aria-hidden", "true");
  return a;
}

function gridShape(n, width, height) {   // the columns and cell size that show n squares biggest
  let best = { columns: 1, cell: 0 };
  for (let columns = 1; columns <= n; columns++) {
    const rows = Math.ceil(n / columns);
    const cell = Math.min(20, Math.floor(width / columns) - 1, Math.floor(height / rows) - 1);
    const better = cell > best.cell || (cell === best.cell && tidier(columns, best.columns, n));
    if (better) best = { columns, cell };
  }
  return { columns: best.columns, cell: Math.max(3, best.cell) };
}

function tidier(a, b, n) {   // between two column counts: full rows first, then the squarer grid
  if ((n % a === 0) !== (n % b === 0)) return n % a === 0;
  return Math.abs(a - Math.sqrt(n)) < Math.abs(b - Math.sqrt(n));
}

function neuronGrid(layer, l, width) {
  const n = layer.size;
  const { columns, cell } = gridShape(n, width, MAX_GRID_HEIGHT);
  const grid = document.createElement("div");
  grid.className = "neurons";
  grid.style.gridTemplateColumns = `repeat(${columns}, ${cell}px)`;
  grid.dataset.layer = l;
  for (let j = 0; j < n; j++) {
    const d = document.createElement("div");
    d.className = "neuron";
    d.style.width = d.style.height = `${cell}px`;
    d.dataset.layer = l; d.dataset.index = j;
    grid.appendChild(d);
  }
  return grid;
}

function outputList(layer) {
  const list = document.createElement("div");
  list.className = "outputs";
  list.id = "outputs";
  const classes = (state.model && state.model.classes) || [];
  for (let j = 0; j < layer.size; j++) {
    list.insertAdjacentHTML("beforeend",
      `<div class="neuron" data-layer="${layer.index}" data-index="${j}"></div>` +
      `<div class="name">${escapeHTML(classes[j] ?? j)}</div>` +
      `<div class="bar"><span></span></div><div class="pct">–</div>`);
  }
  return list;
}

function showResult(result) {
  state.result = result;
  if (!result) {
    $("layers").innerHTML = '<p class="empty">Waiting for a drawing…</p>';
    state.layout = "";
    $("answer").textContent = "–";
    $("answer-sure").textContent = state.view === "draw" ? "draw something" : "";
    refreshInspectorValues();
    return;
  }
  if (state.layout !== layoutKey(result)) buildLayers(result);
  // input neurons: the 28x28 grid, each pixel a square
  const side = Math.round(Math.sqrt(result.input.length));
  const grid = $("input-grid");
  if (side * side === result.input.length) {
    const ctx = grid.getContext("2d");
    const cell = grid.width / side;
    ctx.fillStyle = "#171a1f";
    ctx.fillRect(0, 0, grid.width, grid.height);
    for (let i = 0; i < result.input.length; i++) {
      ctx.fillStyle = css(brightness(result.input[i]));
      ctx.fillRect((i % side) * cell, Math.floor(i / side) * cell, cell - 0.6, cell - 0.6);
    }
  }
  const last = result.layers.length - 1;
  result.layers.forEach((layer, l) => {
    const lit = levels(layer);
    const cells = document.querySelectorAll(`.neuron[data-layer="${l}"]`);
    cells.forEach((cell, j) => {
      cell.style.background = css(brightness(lit[j]));
      cell.title = `${layer.name}, neuron ${j}: a = ${fmt(layer.a[j])}`;
    });
    if (l === last) paintOutputs(result, cells);
  });
  const p = result.probabilities[result.prediction];
  $("answer").textContent = result.label;
  $("answer-sure").textContent = `${(p * 100).toFixed(1)}% sure`;
  refreshInspectorValues();
}

function paintOutputs(result, cells) {
  const rows = $("outputs");
  const bars = rows.querySelectorAll(".bar span");
  const pcts = rows.querySelectorAll(".pct");
  const names = rows.querySelectorAll(".name");
  result.probabilities.forEach((p, j) => {
    const best = j === result.prediction;
    bars[j].style.width = `${(p * 100).toFixed(1)}%`;
    pcts[j].textContent = `${(p * 100).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`;
    for (const el of [bars[j].parentElement, pcts[j], names[j], cells[j]]) el.classList.toggle("best", best);
  });
}

function fmt(x) {
  if (x === null || x === undefined) return "–";
  const a = Math.abs(x);
  return a !== 0 && (a < 0.001 || a >= 1e4) ? x.toExponential(2) : x.toFixed(3);
}

// ---------------------------------------------------------------------------------------------
// the inspector: one neuron's incoming weights, its z and a for the input shown

$("layers").addEventListener("mouseover", (event) => {
  const cell = event.target.closest(".neuron");
  if (cell) inspect(+cell.dataset.layer, +cell.dataset.index);
});
$("layers").addEventListener("mouseleave", () => {
  if (state.pinned) inspect(state.pinned.layer, state.pinned.index);
});
$("layers").addEventListener("click", (event) => {
  const cell = event.target.closest(".neuron");
  if (!cell) return;
  document.querySelectorAll(".neuron.pinned").forEach((c) => c.classList.remove("pinned"));
  state.pinned = { layer: +cell.dataset.layer, index: +cell.dataset.index };
  cell.classList.add("pinned");
  inspect(state.pinned.layer, state.pinned.index);
});

async function inspect(layer, index) {
  if (state.shown && state.shown.layer === layer && state.shown.index === index &&
      $("neuron-weights").dataset.version === String(state.model && state.model.version)) return;
  state.shown = { layer, index };
  const key = `${layer}/${index}`;
  let neuron = state.neuronCache.get(key);
  if (!neuron) {
    try { neuron = await api(`/api/neuron/${layer}/${index}`); } catch (error) { return; }
    state.neuronCache.set(key, neuron);
  }
  if (!state.shown || state.shown.layer !== layer || state.shown.index !== index) return;  // moved on
  drawNeuron(neuron);
}

function drawNeuron(neuron) {
  $("inspector-empty").hidden = true;
  $("inspector-body").hidden = false;
  const classes = (state.model && state.model.classes) || [];
  const isOutput = state.model && neuron.layer === state.model.layers.length - 1;
  const label = isOutput ? ` (“${classes[neuron.index] ?? neuron.index}”)` : "";
  const name = neuron.name === "output" ? "Output layer" : `Hidden layer ${neuron.layer + 1}`;
  $("neuron-title").textContent = `${name}, neuron ${neuron.index}${label}`;
  const canvas = $("neuron-weights");
  const scale = neuron.abs_max || 1;
  const values = neuron.weights.map((w) => w / scale);
  if (neuron.shape.length === 2) {
    paintImage(canvas, values, neuron.shape[0], diverging);
    canvas.style.width = canvas.style.height = "168px";
    $("neuron-caption").textContent =
      "One weight per input pixel, laid out like the image. Ink on the red pixels raises this neuron's z; " +
      "ink on the blue ones lowers it. So it lights up for drawings shaped like its red parts.";
  } else {
    const n = neuron.weights.length;
    const columns = n <= 16 ? n : 16;
    const rows = Math.ceil(n / columns);
    const room = Math.min(224, canvas.parentElement.clientWidth - 4);
    const cell = Math.max(3, Math.floor(room / columns));
    canvas.width = columns; canvas.height = rows;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, columns, rows);
    values.forEach((v, j) => { ctx.fillStyle = css(diverging(v)); ctx.fillRect(j % columns, Math.floor(j / columns), 1, 1); });
    canvas.style.width = `${columns * cell}px`; canvas.style.height = `${rows * cell}px`;
    const from = neuron.inputs_from === "input" ? "input" : neuron.inputs_from.replace("hidden", "hidden layer");
    $("neuron-caption").textContent =
      `One weight per neuron of ${from} (${n} of them, in order, ${columns} to a row). ` +
      "A bright neuron there on a red square raises this neuron's z; on a blue square, lowers it.";
  }
  canvas.dataset.version = neuron.version;
  canvas.dataset.layer = neuron.layer;
  canvas.dataset.index = neuron.index;
  $("legend-low").textContent = `−${fmt(scale)}`;
  $("legend-high").textContent = `+${fmt(scale)}`;
  $("neuron-fn").textContent = neuron.activation;
  $("neuron-b").textContent = fmt(neuron.bias);
  refreshInspectorValues();
}

function refreshInspectorValues() {
  const shown = state.shown;
  const layer = shown && state.result && state.result.layers[shown.layer];
  $("neuron-z").textContent = layer ? fmt(layer.z[shown.index]) : "–";
  $("neuron-a").textContent = layer ? fmt(layer.a[shown.index]) : "–";
}

// ---------------------------------------------------------------------------------------------
// Draw: strokes on the pad, sent to the server as gray pixels while drawing

const pad = $("pad");
const padContext = pad.getContext("2d", { willReadFrequently: true });
const strokes = [];
let drawing = false, lastSent = 0, inFlight = false, again = false;

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

function redrawPad() {
  padContext.fillStyle = "white";
  padContext.fillRect(0, 0, pad.width, pad.height);
  padContext.strokeStyle = "black";
  padContext.fillStyle = "black";
  padContext.lineWidth = PEN_WIDTH;
  padContext.lineCap = padContext.lineJoin = "round";
  for (const stroke of strokes) drawStroke(stroke);
}

function drawStroke(points) {
  if (points.length === 1) {
    padContext.beginPath();
    padContext.arc(points[0][0], points[0][1], PEN_WIDTH / 2, 0, 2 * Math.PI);
    padContext.fill();
    return;
  }
  padContext.beginPath();
  padContext.moveTo(points[0][0], points[0][1]);
  for (const [x, y] of points.slice(1)) padContext.lineTo(x, y);
  padContext.stroke();
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawing = true;
  strokes.push([padPoint(event)]);
  redrawPad();
  sendSoon();
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const stroke = strokes[strokes.length - 1];
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of (events.length ? events : [event])) stroke.push(padPoint(e));
  redrawPad();
  sendSoon();
});
for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => {
    if (!drawing) return;
    drawing = false;
    sendDrawing();
  });
}
$("undo").addEventListener("click", () => { strokes.pop(); redrawPad(); strokes.length ? sendDrawing() : showResult(null); });
$("clear").addEventListener("click", () => { strokes.length = 0; redrawPad(); showResult(null); });

function sendSoon() {
  if (performance.now() - lastSent >= SEND_EVERY_MS) sendDrawing();
}

function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

async function sendDrawing() {
  if (!strokes.length) return;
  if (inFlight) { again = true; return; }
  inFlight = true; again = false; lastSent = performance.now();
  const rgba = padContext.getImageData(0, 0, pad.width, pad.height).data;
  const gray = new Uint8Array(pad.width * pad.height);
  for (let i = 0; i < gray.length; i++) gray[i] = rgba[i * 4];   // black ink on white: any channel
  try {
    const result = await postJSON("/api/predict", { width: pad.width, height: pad.height, pixels: toBase64(gray) });
    if (state.view === "draw" && strokes.length) {
      $("look-error").hidden = true;
      await followModel(result.version);
      showResult(result);
    }
  } catch (error) {
    $("look-error").textContent = error.message;
    $("look-error").hidden = false;
  } finally {
    inFlight = false;
    if (again) sendDrawing();
  }
}

async function followModel(version) {   // an answer from a newer model: catch up with it
  if (state.model && state.model.version !== version) await loadModel();
}

// ---------------------------------------------------------------------------------------------
// Browse: MNIST test digits

const digitNames = () => (state.model && state.model.classes) || [...Array(10).keys()].map(String);

function fillClassSelect() {
  const select = $("browse-class");
  select.innerHTML = digitNames().map((name, k) => `<option value="${k}">${escapeHTML(name)}</option>`).join("");
  select.value = String(state.browse.cls);
}

async function loadDigit({ position = null, mode = state.browse.mode, index = null }) {
  const query = new URLSearchParams({ mode: index !== null ? "index" : mode });
  if (index !== null) query.set("index", index);
  if (mode === "class" && index === null) query.set("class", state.browse.cls);
  if (position !== null && index === null) query.set("position", position);
  const ticket = (state.browse.ticket = (state.browse.ticket || 0) + 1);
  try {
    const digit = await api(`/api/digits?${query}`);
    if (ticket !== state.browse.ticket) return;   // a later click has asked for another digit
    state.browse.loaded = true;
    if (index === null) Object.assign(state.browse, { position: digit.position, count: digit.count });
    state.browse.index = digit.index;
    $("look-error").hidden = true;
    await followModel(digit.version);
    showDigit(digit);
  } catch (error) {
    $("digit-info").textContent = error.message;
  }
}

function showDigit(digit) {
  paintImage($("digit"), digit.pixels.map((p) => p / 255), Math.round(Math.sqrt(digit.pixels.length)), brightness);
  const guess = digit.prediction;
  const sure = (guess.probabilities[guess.prediction] * 100).toFixed(1);
  const where = state.browse.mode === "mistakes" ? `mistake ${state.browse.position + 1} of ${state.browse.count}`
    : state.browse.mode === "class" ? `${state.browse.position + 1} of ${state.browse.count} “${escapeHTML(digit.label_name)}”s`
    : `${(digit.index + 1).toLocaleString("en")} of ${state.browse.count.toLocaleString("en")}`;
  $("digit-info").innerHTML =
    `Test digit #${digit.index} (${where})<br>written as <b>${escapeHTML(digit.label_name)}</b> · the network says ` +
    (digit.correct ? `<span class="right">${escapeHTML(guess.label)} ✓</span>` : `<span class="wrong">${escapeHTML(guess.label)} ✗</span>`) +
    ` (${sure}%)`;
  if (state.view === "browse") showResult(guess);
}

function refreshDigit() {
  if (state.browse.index !== null) loadDigit({ index: state.browse.index });
}

$("browse-mode").addEventListener("change", (event) => {
  state.browse.mode = event.target.value;
  $("browse-class").hidden = state.browse.mode !== "class";
  loadDigit({ position: state.browse.mode === "random" ? null : 0 });   // a chosen set starts at its first digit
});
$("browse-class").addEventListener("change", (event) => { state.browse.cls = +event.target.value; loadDigit({ position: 0 }); });
$("browse-random").addEventListener("click", () => loadDigit({}));
$("browse-next").addEventListener("click", () => loadDigit({ position: (state.browse.position ?? -1) + 1 }));
$("browse-prev").addEventListener("click", () => loadDigit({ position: (state.browse.position ?? 1) - 1 }));

// ---------------------------------------------------------------------------------------------
// Train: the form, the live curves, the weight images

const form = $("train-form");
const series = { train: [], test: [], epochs: 1 };

async function loadTraining() {
  const status = await api("/api/train");
  const d = status.defaults, limits = status.limits;
  const options = (id, names, chosen) => {
    $(id).innerHTML = names.map((n) => `<option${n === chosen ? " selected" : ""}>${n}</option>`).join("");
  };
  options("f-activation", limits.activation, d.activation);
  options("f-optimizer", limits.optimizer, d.optimizer);
  options("f-schedule", limits.lr_schedule, d.lr_schedule);
  $("f-hidden").value = d.hidden.join(", ");
  $("f-learning-rate").value = d.learning_rate;
  $("f-epochs").value = d.epochs; $("f-epochs").max = limits.epochs[1];
  $("f-batch-size").value = d.batch_size; $("f-batch-size").max = limits.batch_size[1];
  $("f-train-size").value = d.train_size; $("f-train-size").max = limits.train_size[1];
  $("f-work").textContent = `One run may do at most ${limits.work[1].toExponential(0).replace("e+", "×10^")} ` +
    "multiply-adds (epochs × images × the network's size; small batches cost more): a few minutes. " +
    "For longer runs, use nnet train.";
  showSave(status.save);
  if (status.run) {
    watch(status.run.run, status.running);
    if (status.running && state.model && !state.model.trained) {
      const r = status.run.settings;
      const hidden = r.hidden.length ? `${r.hidden.join(" → ")} ${r.activation} neurons` : "no hidden layer";
      $("train-intro").textContent = "No model file was given, so the lab is training the default network: " +
        `${state.model.input.size} inputs → ${hidden} → ${state.model.classes.length} softmax outputs, ` +
        `cross-entropy cost, the ${r.optimizer} optimizer ` +
        `with learning rate ${r.learning_rate} on a ${r.lr_schedule} schedule, batches of ${r.batch_size}, ` +
        `${r.epochs} epochs over ${r.train_size.toLocaleString("en")} training digits. It takes a few seconds; ` +
        "then Draw and Browse use it. Afterwards, change the settings here and train again.";
    }
  }
}

function showSave(save) {
  state.save = save;
  if (!save.enabled) {
    $("save").disabled = true;
    $("save-note").innerHTML = "To keep a trained model, start the lab with <code>--save&nbsp;PATH</code>: " +
      "the file is chosen where the server runs, not in this page.";
  } else {
    $("save").disabled = !(state.model && state.model.trained);
    $("save-note").textContent = save.saved ? `Saved to ${save.saved.path} at ${save.saved.at}.` : `Saves the current model to ${save.path}.`;
  }
}

function settingsFromForm() {
  const text = $("f-hidden").value.trim();
  const hidden = text ? text.split(/[\s,]+/).filter(Boolean).map(Number) : [];
  return {
    hidden,
    activation: $("f-activation").value,
    optimizer: $("f-optimizer").value,
    learning_rate: Number($("f-learning-rate").value),
    lr_schedule: $("f-schedule").value,
    epochs: Number($("f-epochs").value),
    batch_size: Number($("f-batch-size").value),
    train_size: Number($("f-train-size").value),
  };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  $("train-error").hidden = true;
  try {
    const started = await postJSON("/api/train", settingsFromForm());
    watch(started.run, true);
  } catch (error) {
    $("train-error").textContent = error.message;
    $("train-error").hidden = false;
  }
});
$("train-stop").addEventListener("click", async () => {
  $("train-stop").disabled = true;
  try { await api("/api/train/stop", { method: "POST" }); } catch (error) { /* it ended already */ }
});
$("save").addEventListener("click", async () => {
  try {
    const saved = await api("/api/model/save", { method: "POST" });
    $("save-note").textContent = `Saved to ${saved.saved}.`;
  } catch (error) {
    $("save-note").textContent = error.message;
  }
});

function watch(runId, running) {
  if (state.run && state.run.source) state.run.source.close();
  state.run = { id: runId, running, source: null };
  setRunning(running);
  series.train = []; series.test = []; series.epochs = 1;
  const source = new EventSource(`/api/train/events?run=${runId}`);
  state.run.source = source;
  // (a connection problem also fires "error", with no data: onerror below deals with it)
  const on = (type, handler) => source.addEventListener(type, (e) => { if (e.data) handler(JSON.parse(e.data)); });
  on("start", (e) => {
    series.epochs = e.epochs;
    status(`Run ${runId}: training ${e.sizes.join(" → ")} on ${e.train_size.toLocaleString()} digits…`);
  });
  on("progress", (e) => {
    series.train.push([e.position, e.cost, e.accuracy]);
    status(`Run ${runId}: epoch <b>${e.epoch}/${e.epochs}</b>, batch <b>${e.batch}/${e.batches}</b> · ` +
      `cost <b>${e.cost.toFixed(3)}</b> · accuracy <b>${(e.accuracy * 100).toFixed(1)}%</b> · ${e.seconds.toFixed(1)} s`);
    drawCharts();
  });
  on("epoch", (e) => {
    if (e.test_accuracy !== null) series.test.push([e.epoch, e.test_cost, e.test_accuracy]);
    drawCharts();
  });
  on("weights", drawWeightGrid);
  const finish = async (e, words) => {
    source.close();
    state.run.running = false;
    setRunning(false);
    const last = series.test[series.test.length - 1];
    const score = last ? ` · <b>${(last[2] * 100).toFixed(1)}%</b> of the test digits right` : "";
    status(`Run ${runId} ${words}${e.seconds !== undefined ? ` in ${e.seconds.toFixed(1)} s` : ""}${score}.` +
      (e.type === "error" ? "" : " Draw and Browse now use this network."));
    await loadModel();
    if (state.save) showSave(state.save);
    if (state.view === "draw" && strokes.length) sendDrawing();
    if (state.browse.loaded) refreshDigit();
  };
  on("done", (e) => finish(e, "finished"));
  on("stopped", (e) => finish(e, "stopped"));
  on("error", (e) => {
    finish(e, "failed");
    $("train-error").textContent = e.error; $("train-error").hidden = false;
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED && state.run.running) status("Lost the connection to the server.");
  };
}

function setRunning(running) {
  $("train-start").disabled = running;
  $("train-stop").disabled = !running;
  updateBanner();
}

function status(html) { $("train-status").innerHTML = html; }

// a line chart on a canvas: the training series as a line, the test points as dots
function niceStep(span, count) {     // a round step (1, 2 or 5 times a power of ten) for about count ticks
  const raw = span / count, power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw);
}

function drawChart(canvas, column, { min, max, percent }) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (!width) return;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  const left = 46, right = 14, top = 12, bottom = 36;
  const values = [...series.train, ...series.test].map((p) => p[column]);
  let low = min ?? Math.min(...values), high = max ?? Math.max(...values);
  if (!values.length || !isFinite(low) || !isFinite(high)) { low = 0; high = 1; }
  if (high - low < 1e-6) high = low + 1;
  const step = niceStep(high - low, 4);
  low = Math.floor(low / step + 1e-9) * step;
  high = Math.ceil(high / step - 1e-9) * step;
  const x = (v) => left + (v / series.epochs) * (width - left - right);
  const y = (v) => top + (1 - (v - low) / (high - low)) * (height - top - bottom);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#5b6470"; ctx.strokeStyle = "#e3e7ec"; ctx.lineWidth = 1;
  const decimals = Math.max(0, -Math.floor(Math.log10(percent ? step * 100 : step)));
  for (let v = low; v <= high + step / 2; v += step) {
    ctx.beginPath(); ctx.moveTo(left, y(v)); ctx.lineTo(width - right, y(v)); ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(percent ? `${(v * 100).toFixed(decimals)}%` : v.toFixed(decimals), left - 6, y(v) + 4);
  }
  ctx.textAlign = "center";
  const every = Math.max(1, Math.ceil(series.epochs / 10));
  for (let e = 0; e <= series.epochs; e += every) ctx.fillText(String(e), x(e), height - 20);
  ctx.fillText("epochs", left + (width - left - right) / 2, height - 5);
  ctx.strokeStyle = "#2f6feb"; ctx.lineWidth = 1.6;
  ctx.beginPath();
  series.train.forEach((p, k) => (k ? ctx.lineTo(x(p[0]), y(p[column])) : ctx.moveTo(x(p[0]), y(p[column]))));
  ctx.stroke();
  ctx.fillStyle = "#e8710a";
  for (const p of series.test) { ctx.beginPath(); ctx.arc(x(p[0]), y(p[column]), 4, 0, 2 * Math.PI); ctx.fill(); }
  canvas.dataset.points = series.train.length + series.test.length;
}

function drawCharts() {
  if (state.chartFrame) return;
  state.chartFrame = requestAnimationFrame(() => {
    state.chartFrame = null;
    const accuracies = [...series.train, ...series.test].map((p) => p[2]);
    const floor = accuracies.length ? Math.max(0, Math.min(...accuracies)) : 0;
    drawChart($("chart-cost"), 1, { min: 0 });
    drawChart($("chart-accuracy"), 2, { min: floor, max: 1, percent: true });
  });
}

function drawWeightGrid(event) {
  const grid = $("weight-grid");
  const bytes = Uint8Array.from(atob(event.data), (c) => c.charCodeAt(0));
  const weights = new Int8Array(bytes.buffer);
  const side = Math.round(Math.sqrt(event.inputs));
  if (side * side !== event.inputs) { grid.textContent = "(the inputs are not a square image)"; return; }
  while (grid.children.length > event.neurons) grid.lastChild.remove();
  while (grid.children.length < event.neurons) {
    const c = document.createElement("canvas");
    c.title = `hidden neuron ${grid.children.length}`;
    grid.appendChild(c);
  }
  for (let j = 0; j < event.neurons; j++) {
    const row = Array.from(weights.subarray(j * event.inputs, (j + 1) * event.inputs), (w) => w / 127);
    paintImage(grid.children[j], row, side, diverging);
  }
  grid.dataset.position = event.position;
}

window.addEventListener("resize", () => {
  drawCharts();
  if (state.result && state.view !== "train") showResult(state.result);   // refit the layer columns
});

// ---------------------------------------------------------------------------------------------
// start

document.querySelector(".tabs").addEventListener("click", (event) => {
  const tab = event.target.closest("button[data-view]");
  if (tab) showView(tab.dataset.view);
});
$("banner").addEventListener("click", (event) => {
  const link = event.target.closest("[data-go]");
  if (link) { event.preventDefault(); showView(link.dataset.go); }
});

(async function start() {
  redrawPad();
  try {
    await loadModel();
  } catch (error) {
    $("model-line").textContent = `Cannot reach the lab server: ${error.message}`;
    return;
  }
  await loadTraining();
  const untrained = state.model && !state.model.trained;
  showView(untrained ? "train" : "draw");
  drawCharts();
})();
