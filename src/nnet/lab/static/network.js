// The network as the page draws it: the input pixels, every layer's neurons, the outputs, and,
// between small layers, every connection (colour = the weight's sign, thickness = its size).
// Wide: the layers side by side, left to right; narrow (a phone): stacked top to bottom.
// Every neuron is a button: point at it, tap it, or reach it with Tab and the arrow keys.

import { escapeHTML, fmt } from "./api.js";
import { connectionAt, drawConnections, segments } from "./connections.js";
import { absMax, brightness, css, darkDiverging } from "./paint.js";

const MAX_LINKED = 32;       // layers of at most this many neurons get their connections drawn
const MAX_DRAWN = 2048;      // larger layers (a conv net's maps) are named, not drawn neuron by neuron
const MAX_DRAWN_NARROW = 300;  // ... and on a phone, where each is big enough to tap
const NARROW = 600;          // below this width (CSS px) the layers stack top to bottom
const TAP = 28;              // the smallest neuron on a narrow screen: big enough for a finger
const STAGE = 380;           // the height a column of neurons may take on a wide screen

// Display levels 0..1 for a layer's activations: bounded activations use their range, others
// this input's largest |a| in the layer ("brighter = more active").
export function levels(layer) {
  const [low, high] = layer.range || [null, null];
  if (low !== null && high !== null) return layer.a.map((a) => (a - low) / (high - low));
  const top = absMax(layer.a);
  return layer.a.map((a) => (top > 0 ? Math.max(0, a) / top : 0));
}

export class NetworkView {
  // root: an empty element. options: {teach: show target and nudge columns and let links be
  // clicked, onInspect(layer, index), onPin(layer, index), onLink(layer, to, from), onLeave()}
  constructor(root, options = {}) {
    this.root = root;
    this.options = options;
    this.model = null;
    this.result = null;
    this.mode = "a";             // what lights the neurons: a, delta or nudge
    this.layout = "";
    this.links = new Map();      // layer -> {weights (n_out rows of n_in), abs_max}
    this.focus = null;           // {layer, index}: pointed at or focused
    this.pinned = null;
    this.below = null;           // {layer, values}: a layer recoloured by a neuron's weights
    this.columns = new Map();    // layer -> grid columns, for the arrow keys
    root.classList.add("layers");
    root.addEventListener("mouseover", (e) => { const n = e.target.closest(".neuron"); if (n) this.point(n); });
    root.addEventListener("focusin", (e) => { const n = e.target.closest(".neuron"); if (n) this.point(n); });
    root.addEventListener("mouseleave", () => this.leave());
    root.addEventListener("click", (e) => this.click(e));
    root.addEventListener("keydown", (e) => this.key(e));
    new ResizeObserver(() => { if (this.result && this.layoutKey(this.result) !== this.layout) this.show(this.result); })
      .observe(root);
  }

  setModel(model) {
    this.model = model;
    this.links.clear();
    this.layout = "";
    this.pinned = this.focus = this.below = null;
  }

  setLinks(layer, data) {
    this.links.set(layer, data);
    this.drawLinks();
  }

  get narrow() { return this.root.clientWidth < NARROW; }

  layoutKey(result) {
    return [this.root.clientWidth, this.narrow, this.options.teach, result.input.length,
      ...result.layers.map((l) => l.size)].join("-");
  }

  // -- building the columns -----------------------------------------------------------------------
  build(result) {
    const root = this.root;
    root.innerHTML = "";
    root.classList.toggle("vertical", this.narrow);
    this.canvas = document.createElement("canvas");
    this.canvas.className = "links";
    this.canvas.setAttribute("aria-hidden", "true");
    root.appendChild(this.canvas);
    const last = result.layers.length - 1;
    const width = root.clientWidth;
    const inputSide = this.narrow ? 28 * Math.max(6, Math.min(10, Math.floor(width / 28)))
      : 28 * Math.max(4, Math.min(7, Math.floor((width - 240 - 140 * last) * 0.7 / 28)));
    const input = this.column("Input layer", `${result.input.length} neurons: the pixels`, -1);
    const grid = document.createElement("canvas");
    grid.className = "input-grid";
    grid.width = grid.height = inputSide;
    grid.style.width = grid.style.height = `${inputSide}px`;
    grid.setAttribute("role", "img");
    grid.setAttribute("aria-label", "the input layer: 28 by 28 pixels, each a neuron lit by its value");
    input.appendChild(grid);
    this.inputGrid = grid;
    root.appendChild(input);
    const room = width - inputSide - (this.options.teach ? 300 : 230);
    result.layers.forEach((layer, l) => {
      const linked = this.isLinked(l);
      if (!linked) root.appendChild(this.arrow());
      const name = l === last ? "Output layer" : `Hidden layer ${l + 1}`;
      const col = this.column(name, `${layer.size} neurons · ${layer.activation}`, l);
      col.appendChild(l === last ? this.outputList(layer, l)
        : layer.size > (this.narrow ? MAX_DRAWN_NARROW : MAX_DRAWN) ? this.tooMany(layer) : this.neuronGrid(layer, l, room / Math.max(1, last)));
      root.appendChild(col);
    });
    this.layout = this.layoutKey(result);
  }

  isLinked(l) {   // connections are drawn between two small layers (never from the input pixels)
    const layers = this.result.layers;
    return l > 0 && layers[l].size <= MAX_LINKED && layers[l - 1].size <= MAX_LINKED;
  }

  column(title, sub, l) {
    const col = document.createElement("div");
    col.className = "layer";
    col.dataset.layer = l;
    col.innerHTML = `<div class="layer-title">${title}</div><div class="layer-sub">${sub}</div>`;
    return col;
  }

  arrow() {
    const a = document.createElement("div");
    a.className = "arrow"; a.textContent = this.narrow ? "↓" : "→"; a.setAttribute("aria-hidden", "true");
    return a;
  }

  neuronGrid(layer, l, width) {
    const n = layer.size;
    let columns, cell;
    if (this.narrow) {       // rows across the screen, each neuron at least TAP wide
      const most = Math.max(1, Math.floor((this.root.clientWidth + 3) / (TAP + 3)));
      const rows = Math.ceil(n / most);
      columns = Math.ceil(n / rows);
      cell = Math.min(44, Math.floor((this.root.clientWidth + 3) / columns) - 3);
    } else if (n <= MAX_LINKED) {   // one column, like the lessons' pictures
      columns = 1;
      cell = Math.max(10, Math.min(24, Math.floor(STAGE / n) - 3));
    } else {
      ({ columns, cell } = gridShape(n, Math.max(60, Math.min(260, width - 40)), 300));
    }
    const grid = document.createElement("div");
    grid.className = "neurons";
    grid.setAttribute("role", "group");
    grid.setAttribute("aria-label", `${layer.name}: ${n} neurons; arrow keys move between them`);
    grid.style.gridTemplateColumns = `repeat(${columns}, ${cell}px)`;
    grid.style.gap = columns === 1 ? `${Math.max(3, Math.min(8, Math.floor(STAGE / n) - cell))}px` : "3px";
    this.columns.set(l, columns);
    for (let j = 0; j < n; j++) grid.appendChild(this.neuron(l, j, cell));
    return grid;
  }

  tooMany(layer) {   // thousands of neurons: a conv layer's maps, which the feature maps section draws
    const note = document.createElement("div");
    note.className = "too-many";
    note.textContent = `${layer.size.toLocaleString("en")} neurons: too many to draw one by one here ` +
      "(a convolution's feature maps are drawn below)";
    return note;
  }

  neuron(l, j, cell) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "neuron";
    button.dataset.layer = l; button.dataset.index = j;
    button.tabIndex = j === 0 ? 0 : -1;   // one Tab stop per layer; arrows move within it
    if (cell) button.style.width = button.style.height = `${cell}px`;
    return button;
  }

  // The output neurons with their values: on a wide screen a list, a neuron at the head of each row;
  // on a narrow one a row of neurons (where the connections end) above the list of values.
  outputList(layer, l) {
    const wrap = document.createElement("div");
    const classes = (this.model && this.model.classes) || [];
    if (this.narrow) {
      const row = document.createElement("div");
      row.className = "output-row";
      row.setAttribute("role", "group");
      row.setAttribute("aria-label", "the output layer: one neuron per answer");
      row.style.gridTemplateColumns = `repeat(${Math.min(layer.size, 10)}, minmax(0, 1fr))`;
      for (let j = 0; j < layer.size; j++) {
        const cell = document.createElement("div");
        cell.appendChild(this.neuron(l, j, TAP));
        cell.insertAdjacentHTML("beforeend", `<div class="name">${escapeHTML(classes[j] ?? j)}</div>`);
        row.appendChild(cell);
      }
      this.columns.set(l, Math.min(layer.size, 10));
      wrap.appendChild(row);
    } else {
      this.columns.set(l, 1);
    }
    const list = document.createElement("div");
    list.className = this.options.teach ? "outputs teach" : "outputs";
    if (this.options.outputsId) list.id = this.options.outputsId;
    if (!this.narrow) {
      list.setAttribute("role", "group");
      list.setAttribute("aria-label", "the output layer: one neuron per answer");
    }
    const head = this.options.teach ? `<div></div><div></div><div class="head">output a</div><div></div>` +
      `<div class="head" title="the target: what we want">want y</div><div class="head">nudge y − a</div>` : "";
    list.insertAdjacentHTML("beforeend", head);
    for (let j = 0; j < layer.size; j++) {
      if (this.narrow) list.insertAdjacentHTML("beforeend", `<div class="swatch" aria-hidden="true"></div>`);
      else list.appendChild(this.neuron(l, j, null));
      list.insertAdjacentHTML("beforeend",
        `<div class="name">${escapeHTML(classes[j] ?? j)}</div><div class="bar"><span></span></div><div class="value">–</div>` +
        (this.options.teach ? `<div class="target">–</div><div class="nudge">–</div>` : ""));
    }
    wrap.appendChild(list);
    return wrap;
  }

  // -- painting a result ----------------------------------------------------------------------------
  // result: {input, layers: [{index, name, size, activation, range, z, a, delta?, nudge?}], ...}
  // plus, for the outputs: target (teach) and the answer shown (prediction / answer).
  show(result, mode = this.mode) {
    this.result = result;
    this.mode = mode;
    if (!result) return;
    if (this.layout !== this.layoutKey(result)) this.build(result);
    this.paintInput();
    const last = result.layers.length - 1;
    result.layers.forEach((layer, l) => {
      const cells = this.root.querySelectorAll(`.neuron[data-layer="${l}"]`);
      const colours = this.colours(layer, l);
      cells.forEach((cell, j) => {
        cell.style.background = css(colours[j]);
        cell.setAttribute("aria-label", this.describe(layer, j, l === last));
      });
      if (l === last) this.paintOutputs(layer, cells);
    });
    this.root.classList.toggle("signed", mode !== "a");
    if (this.pinned) this.markPinned();
    requestAnimationFrame(() => this.drawLinks());
  }

  colours(layer, l) {
    const below = this.below && this.below.layer === l ? this.below.values : null;
    if (below) {   // a neuron above is pointed at: this layer shows its weights into it
      const top = absMax(below) || 1;
      return below.map((w) => darkDiverging(w / top));
    }
    if (this.mode === "a" || !layer[this.mode]) return levels(layer).map(brightness);
    const values = layer[this.mode], top = absMax(values) || 1;
    return values.map((v) => darkDiverging(v / top));
  }

  describe(layer, j, output) {
    const name = output ? `output neuron ${j}${this.model ? ` (“${this.model.classes[j] ?? j}”)` : ""}` : `${layer.name}, neuron ${j}`;
    let text = `${name}: a = ${fmt(layer.a[j])}`;
    if (layer.delta) text += `, δ = ${fmt(layer.delta[j], 4)}, desired nudge ${fmt(layer.nudge[j], 4)}`;
    return text;
  }

  paintInput() {
    const grid = this.inputGrid, input = this.result.input;
    const side = Math.round(Math.sqrt(input.length));
    if (side * side !== input.length) return;
    const ctx = grid.getContext("2d"), cell = grid.width / side;
    const below = this.below && this.below.layer === -1 ? this.below.values : null;
    const top = below ? absMax(below) || 1 : 1;
    ctx.fillStyle = "#171a1f";
    ctx.fillRect(0, 0, grid.width, grid.height);
    for (let i = 0; i < input.length; i++) {
      ctx.fillStyle = css(below ? darkDiverging(below[i] / top) : brightness(input[i]));
      ctx.fillRect((i % side) * cell, Math.floor(i / side) * cell, cell - 0.6, cell - 0.6);
    }
    grid.dataset.showing = below ? "weights" : "input";
  }

  paintOutputs(layer, cells) {
    const list = this.root.querySelector(".outputs");
    const result = this.result;
    const softmax = layer.activation === "softmax";
    const bars = list.querySelectorAll(".bar span"), values = list.querySelectorAll(".value");
    const names = list.querySelectorAll(".name"), swatches = list.querySelectorAll(".swatch");
    const best = result.answer ?? result.prediction;
    layer.a.forEach((a, j) => {
      const isBest = j === best;
      bars[j].style.width = `${(Math.max(0, Math.min(1, a)) * 100).toFixed(1)}%`;
      values[j].textContent = softmax ? `${(a * 100).toFixed(a >= 0.995 || a < 0.001 ? 0 : 1)}%` : a.toFixed(3);
      values[j].dataset.a = a;
      if (swatches[j]) swatches[j].style.background = cells[j].style.background;
      for (const el of [bars[j].parentElement, values[j], names[j], cells[j], swatches[j]]) if (el) el.classList.toggle("best", isBest);
    });
    if (this.options.teach && result.target) {
      const targets = list.querySelectorAll(".target"), nudges = list.querySelectorAll(".nudge");
      result.target.forEach((y, j) => {
        targets[j].textContent = fmt(y, y === 0 || y === 1 ? 0 : 2);
        const nudge = layer.nudge[j];
        nudges[j].textContent = `${nudge > 0 ? "↑" : nudge < 0 ? "↓" : "·"} ${Math.abs(nudge).toFixed(3)}`;
        nudges[j].className = `nudge ${nudge > 0.0005 ? "up" : nudge < -0.0005 ? "down" : ""}`;
        targets[j].classList.toggle("wanted", y > 0.5);
      });
    }
  }

  // -- pointing, pinning, keys ------------------------------------------------------------------
  point(cell) {
    const layer = +cell.dataset.layer, index = +cell.dataset.index;
    if (this.focus && this.focus.layer === layer && this.focus.index === index) return;
    this.focus = { layer, index };
    this.drawLinks();
    if (this.options.onInspect) this.options.onInspect(layer, index);
  }

  leave() {
    this.focus = this.pinned ? { ...this.pinned } : null;
    this.drawLinks();
    if (this.options.onLeave) this.options.onLeave();
  }

  click(event) {
    const cell = event.target.closest(".neuron");
    if (cell) {
      this.pinned = { layer: +cell.dataset.layer, index: +cell.dataset.index };
      this.focus = { ...this.pinned };
      this.markPinned();
      this.drawLinks();
      if (this.options.onPin) this.options.onPin(this.pinned.layer, this.pinned.index);
      return;
    }
    if (this.options.onLink) {
      const link = this.linkAt(event.clientX, event.clientY);
      if (link) this.options.onLink(link.layer, link.to, link.from, link.weight);
    }
  }

  markPinned() {
    this.root.querySelectorAll(".neuron.pinned").forEach((c) => c.classList.remove("pinned"));
    const p = this.pinned;
    const cell = p && this.root.querySelector(`.neuron[data-layer="${p.layer}"][data-index="${p.index}"]`);
    if (cell) cell.classList.add("pinned");
  }

  key(event) {
    const cell = event.target.closest(".neuron");
    if (!cell) return;
    const l = +cell.dataset.layer, j = +cell.dataset.index;
    const cells = [...this.root.querySelectorAll(`.neuron[data-layer="${l}"]`)];
    const columns = this.columns.get(l) || 1;
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns, Home: -j, End: cells.length - 1 - j };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = cells[Math.max(0, Math.min(cells.length - 1, j + moves[event.key]))];
    cells.forEach((c) => { c.tabIndex = -1; });
    next.tabIndex = 0;
    next.focus();
  }

  // Recolour the layer below a neuron (or the input grid) by that neuron's incoming weights;
  // null puts the activations back.
  showWeightsBelow(layer, weights) {
    this.below = weights ? { layer: layer - 1, values: weights } : null;
    if (this.result) this.show(this.result);
  }

  // -- connections (drawn by connections.js) ----------------------------------------------------
  segments() {
    if (!this.result) return [];
    return segments(this.root, this.links, (l) => l < this.result.layers.length && this.isLinked(l));
  }

  drawLinks() {
    if (this.canvas && this.result) drawConnections(this.canvas, this.root, this.segments(), this.focus);
  }

  linkAt(clientX, clientY) { return connectionAt(this.root, this.segments(), clientX, clientY); }
}

export function gridShape(n, width, height) {   // the columns and cell size that show n squares biggest
  let best = { columns: 1, cell: 0 };
  for (let columns = 1; columns <= n; columns++) {
    const rows = Math.ceil(n / columns);
    const cell = Math.min(22, Math.floor(width / columns) - 3, Math.floor(height / rows) - 3);
    const better = cell > best.cell || (cell === best.cell && tidier(columns, best.columns, n));
    if (better) best = { columns, cell };
  }
  return { columns: best.columns, cell: Math.max(4, best.cell) };
}

function tidier(a, b, n) {   // between two column counts: full rows first, then the squarer grid
  if ((n % a === 0) !== (n % b === 0)) return n % a === 0;
  return Math.abs(a - Math.sqrt(n)) < Math.abs(b - Math.sqrt(n));
}
