// Teach: backpropagation you can see and do, on a copy of the model (the sandbox).
// One example: its cost, the target beside the output, δ and the desired nudges on every neuron,
// a neuron's desired weight changes as a picture; then one step of gradient descent, undo, reset.
// Ten examples: each one's desired changes side by side, and their average: the negative gradient.

import { $, announce, api, escapeHTML, fmt, postJSON, sig } from "./api.js";
import { NetworkView } from "./network.js";
import { absMax, brightness, digitCanvas, paintImage, paintSigned, sizePicture } from "./paint.js";

const COSTS = {
  quadratic: "C = ½ Σ (a − y)², over the output neurons",
  cross_entropy_softmax: "C = −ln a, the log of the right answer's output",
  cross_entropy_sigmoid: "C = −Σ [y ln a + (1 − y) ln(1 − a)], over the output neurons",
};
const MODES = {
  a: "Brightness is each neuron's activation a, as in Draw.",
  delta: "Each neuron's error δ = ∂C/∂z: how fast this example's cost changes as the neuron's z changes. " +
    "Red: raising z would raise the cost; blue: it would lower it. A step moves every z against its δ.",
  nudge: "The desired nudges: how this example wants each neuron's activation to move (red: up, blue: down). " +
    "The outputs want y − a, what we want minus what we got; each hidden neuron adds up the nudges of the layer " +
    "above through its weights to them, layer after layer backwards: hence backpropagation.",
};

export function createTeach(lab) {
  const view = new NetworkView($("teach-layers"), {
    teach: true,
    onInspect: (l, j) => inspect(l, j),
    onPin: (l, j) => { state.neuron = { layer: l, index: j }; refresh(); loadBatch(); },
    onLeave: () => { if (state.neuron) inspect(state.neuron.layer, state.neuron.index); },
    onLink: (l, to, from, w) => editLink(l, to, from, w),
  });
  const state = { example: null, label: null, result: null, neuron: null, mode: "a", sandbox: null, seed: 1,
    batch: null, busy: false };

  // -- the example and its label ---------------------------------------------------------------
  function labelButtons() {
    const classes = lab.model().classes;
    $("teach-labels").innerHTML = classes.map((name, k) =>
      `<button type="button" role="radio" aria-checked="false" tabindex="-1" data-label="${k}">${escapeHTML(name)}</button>`).join("");
    markLabel();
  }

  function markLabel() {
    const buttons = [...$("teach-labels").querySelectorAll("button")];
    buttons.forEach((b) => {
      const on = Number(b.dataset.label) === state.label;
      b.setAttribute("aria-checked", String(on));
      b.tabIndex = on || (state.label === null && b === buttons[0]) ? 0 : -1;
    });
  }

  $("teach-labels").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-label]");
    if (!button) return;
    state.label = Number(button.dataset.label);
    markLabel();
    refresh();
  });
  $("teach-labels").addEventListener("keydown", (event) => {   // a radio group: arrows move and choose
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const k = lab.model().classes.length;
    state.label = ((state.label ?? -step) + step + k) % k;
    markLabel();
    $("teach-labels").querySelector(`[data-label="${state.label}"]`).focus();
    refresh();
  });

  function body(extra = {}) {
    const example = state.example.kind === "digit" ? { digit: state.example.digit } : state.example.drawing;
    return { ...example, label: state.label, ...extra };
  }

  async function randomDigit() {
    const digit = await api("/api/digits?mode=random");
    setExample({ kind: "digit", digit: digit.index, pixels: digit.pixels, label: digit.label });
  }

  function setExample(example) {
    state.example = example;
    state.label = example.label ?? null;
    const canvas = $("teach-digit");
    if (example.pixels) paintImage(canvas, example.pixels.map((p) => p / 255), 28, brightness);
    else postJSON("/api/predict", example.drawing).then((seen) => paintImage(canvas, seen.input, 28, brightness)).catch(() => {});
    $("teach-example-info").innerHTML = example.kind === "digit"
      ? `Test digit #${example.digit}, written as a <b>${escapeHTML(lab.model().classes[example.label])}</b>.`
      : "Your drawing. <b>Which digit is it?</b> Say it below.";
    markLabel();
    refresh();
  }

  // -- one example through the sandbox and back -----------------------------------------------------
  async function refresh() {
    if (!state.example) return;
    if (state.label === null) { clearResult("Say which digit it is, and the network will show what it wants."); return; }
    const neurons = state.neuron ? [[state.neuron.layer, state.neuron.index]] : [];
    try {
      const result = await postJSON("/api/backprop", body({ neurons }));
      state.result = result;
      showSandbox(result.sandbox);
      if (result.input && state.example.kind === "drawing") paintImage($("teach-digit"), result.input, 28, brightness);
      view.show({ ...result, prediction: result.answer }, state.mode);
      showCost(result);
      if (state.neuron) inspect(state.neuron.layer, state.neuron.index);
      $("teach-error").hidden = true;
      fetchLinks(result.sandbox.version);
    } catch (error) {
      $("teach-error").textContent = error.message;
      $("teach-error").hidden = false;
    }
  }

  function clearResult(words) {
    state.result = null;
    $("teach-cost").textContent = "–";
    $("teach-cost-words").textContent = words;
  }

  function showCost(result) {
    const output = result.layers[result.layers.length - 1];
    const key = result.cost_name === "quadratic" ? "quadratic" : `cross_entropy_${output.activation}`;
    const name = result.label_name;
    $("teach-cost").textContent = fmt(result.cost, 4);
    $("teach-cost-formula").textContent = COSTS[key] || result.cost_name;
    const right = result.answer === result.label;
    $("teach-cost-words").innerHTML = `It should be a <b>${escapeHTML(name)}</b>; the network says ` +
      `<b class="${right ? "right" : "wrong"}">${escapeHTML(result.answer_name)}</b>. ` +
      `The “${escapeHTML(name)}” output is at ${fmt(result.output[result.label])}; we want it at ${fmt(result.target[result.label], 0)}.`;
  }

  async function fetchLinks(version) {
    for (const layer of lab.model().layers) {
      const l = layer.index;
      if (l === 0 || layer.size > 32 || lab.model().layers[l - 1].size > 32) continue;
      const have = view.links.get(l);
      if (have && have.version === version) continue;
      try { view.setLinks(l, await api(`/api/links/${l}?model=sandbox`)); } catch (error) { /* too large */ }
    }
  }

  function showSandbox(status) {
    state.sandbox = status;
    const changes = [];
    if (status.steps) changes.push(`${status.steps} step${status.steps > 1 ? "s" : ""}`);
    if (status.edits) changes.push(`${status.edits} edited weight${status.edits > 1 ? "s" : ""}`);
    $("teach-sandbox").textContent = (changes.length ? `The copy has taken ${changes.join(" and ")}` :
      "The copy is the trained model, unchanged") + ". Draw and Test digits keep using the trained model." +
      (status.restarted ? ` (${status.restarted}.)` : "");
    $("teach-undo").disabled = !status.undo.length;
    $("teach-undo").title = status.undo.length ? `Undo ${status.undo[0]}` : "nothing to undo";
  }

  // -- the inspector: one neuron's δ, nudge and desired weight changes -------------------------------
  function inspect(l, j) {
    const result = state.result;
    if (!result) return;
    const layer = result.layers[l];
    $("teach-inspector-empty").hidden = true;
    $("teach-inspector-body").hidden = false;
    const output = l === result.layers.length - 1;
    const classes = lab.model().classes;
    $("teach-neuron-title").textContent = output ? `Output neuron ${j} (“${classes[j] ?? j}”)` : `Hidden layer ${l + 1}, neuron ${j}`;
    $("teach-neuron-a").textContent = fmt(layer.a[j]);
    $("teach-neuron-z").textContent = fmt(layer.z[j]);
    $("teach-neuron-delta").textContent = fmt(layer.delta[j], 4);
    $("teach-neuron-nudge").textContent = fmt(layer.nudge[j], 4);
    const pinned = state.neuron && state.neuron.layer === l && state.neuron.index === j;
    const gradient = pinned && result.gradients.find((g) => g.layer === l && g.index === j);
    $("teach-gradient-box").hidden = !gradient;
    $("teach-pin-hint").hidden = Boolean(gradient);
    if (gradient) {
      const wanted = gradient.weights.map((g) => -g);
      const scale = paintSigned($("teach-gradient"), wanted, gradient.shape, absMax(wanted) || 1);
      sizePicture($("teach-gradient"), gradient.shape);
      $("teach-gradient-caption").textContent = (l === 0 && gradient.shape.length === 2
        ? "The change this example wants in each incoming weight: its pixels times the neuron's δ, negated (−∂C/∂w). " +
          "Only pixels with ink ask for a change. "
        : "The change this example wants in each incoming weight, −∂C/∂w = −δ × the activation it multiplies. ") +
        `Red: it wants that weight up; blue: down (up to ±${fmt(scale, 4)}).`;
      editor(l, j);
    }
  }

  function editor(l, j) {   // a small layer's incoming weights, editable (keyboard too)
    const box = $("teach-weights");
    const links = view.links.get(l);
    if (!links || !links.weights || !links.weights[j]) { box.hidden = true; box.dataset.key = ""; return; }
    const key = `${l}/${j}/${links.version}`;
    if (box.dataset.key === key && !box.hidden) return;   // as it is (and keep the focus in it)
    box.dataset.key = key;
    box.innerHTML = `<p class="values-title">Its incoming weights, one from each neuron of hidden layer ${l} ` +
      "(edit one and press Enter: the copy changes)</p>" +
      links.weights[j].map((w, k) => `<label>neuron ${k} <input type="number" step="0.1" value="${w}" ` +
        `aria-label="weight from neuron ${k} of hidden layer ${l}" data-layer="${l}" data-to="${j}" data-from="${k}"></label>`).join("");
    box.hidden = false;
  }

  $("teach-weights").addEventListener("change", (event) => {
    const input = event.target.closest("input[data-layer]");
    if (input) setWeight(+input.dataset.layer, +input.dataset.to, +input.dataset.from, Number(input.value));
  });

  function editLink(l, to, from, w) {
    state.neuron = { layer: l, index: to };
    view.pinned = { ...state.neuron };
    view.markPinned();
    refresh().then(() => {
      const input = $("teach-weights").querySelector(`input[data-from="${from}"]`);
      if (input) { input.focus(); input.select(); }
      state.batch = null;
      loadBatch();
    });
    $("teach-step-result").textContent = `The weight from ${l === 1 ? "hidden 1" : `hidden ${l}`} neuron ${from} into ` +
      `${l === lab.model().layers.length - 1 ? "output" : `hidden ${l + 1}`} neuron ${to} is ${fmt(w)}: type a new value in the inspector.`;
  }

  async function setWeight(layer, neuron, source, value) {
    try {
      const edit = await postJSON("/api/sandbox/weight", { layer, neuron, source, value });
      const before = state.result && state.result.output.slice();
      const feeding = state.result && source !== null && layer > 0 ? state.result.layers[layer - 1].a[source] : null;
      await refresh();
      const after = state.result.output;
      const moves = after.map((a, k) => Math.abs(a - (before ? before[k] : a)));
      const changed = moves.indexOf(Math.max(...moves));
      let words = `Weight set from ${sig(edit.old)} to ${sig(edit.new)}. The outputs after it follow: the ` +
        `“${lab.model().classes[changed]}” output moved the most, from ${sig(before ? before[changed] : NaN, 4)} to ` +
        `${sig(after[changed], 4)}.`;
      if (feeding !== null && Math.abs(feeding) < 0.05) {
        words += ` Little moved: the neuron this weight comes from is nearly off for this digit (a = ${sig(feeding)}), ` +
          "and a weight only matters as much as the activation it multiplies.";
      }
      $("teach-step-result").textContent = words;
      announce(words);
    } catch (error) {
      $("teach-error").textContent = error.message;
      $("teach-error").hidden = false;
    }
  }

  // -- one step, undo, reset -------------------------------------------------------------------
  function rate() { return Number($("teach-rate").value); }

  $("teach-step").addEventListener("click", async () => {
    if (!state.result) return;
    try {
      const step = await postJSON("/api/backprop/step", body({ learning_rate: rate() }));
      const k = state.label, name = lab.model().classes[k];
      const words = `One step (η = ${sig(rate())}): the “${name}” output went from ${sig(step.before[0][k])} to ` +
        `${sig(step.after[0][k])}; the cost of this example from ${sig(step.cost_before, 4)} to ${sig(step.cost_after, 4)}.` +
        (step.after[0][k] - step.before[0][k] < 0.01 ? " A small move: where an output's σ is flat (near 0 or 1), " +
          "σ′(z) is tiny, and so is the step; take a few more." : "");
      $("teach-step-result").textContent = words;
      announce(words);
      await refresh();
      loadBatch();
    } catch (error) {
      $("teach-error").textContent = error.message;
      $("teach-error").hidden = false;
    }
  });
  $("teach-undo").addEventListener("click", async () => {
    try {
      const undone = await postJSON("/api/sandbox/undo");
      $("teach-step-result").textContent = `Undone: ${undone.undone}.`;
    } catch (error) { $("teach-step-result").textContent = error.message; }
    await refresh();
    loadBatch();
  });
  $("teach-reset").addEventListener("click", async () => {
    await postJSON("/api/sandbox/reset");
    $("teach-step-result").textContent = "The copy is the trained model again.";
    await refresh();
    loadBatch();
  });
  for (const button of document.querySelectorAll("#teach-modes button")) {
    button.addEventListener("click", () => {
      state.mode = button.dataset.mode;
      document.querySelectorAll("#teach-modes button").forEach((b) => b.setAttribute("aria-checked", String(b === button)));
      $("teach-mode-caption").textContent = MODES[state.mode];
      $("teach-legend").dataset.mode = state.mode;
      if (state.result) view.show(view.result, state.mode);
    });
  }
  $("teach-random").addEventListener("click", randomDigit);

  // -- ten examples ------------------------------------------------------------------------------
  async function loadBatch() {
    // No neuron chosen yet: the server picks the first layer's neuron these ten most want changed.
    const chosen = state.neuron ? { layer: state.neuron.layer, neuron: state.neuron.index } : { layer: 0 };
    const body = state.batch ? { examples: state.batch.examples.map((e) => ({ set: e.set, index: e.index })) }
      : { count: 10, seed: state.seed };
    try {
      const batch = await postJSON("/api/backprop/batch", { ...body, ...chosen });
      state.batch = batch;
      drawBatch(batch, { layer: batch.layer, index: batch.index });
    } catch (error) {
      $("batch-result").textContent = error.message;
    }
  }

  function drawBatch(batch, neuron) {
    const row = $("batch-row");
    row.innerHTML = "";
    const scale = batch.abs_max || 1;
    const classes = lab.model().classes;
    const name = neuron.layer === lab.model().layers.length - 1 ? `output neuron ${neuron.index}` : `hidden layer ${neuron.layer + 1}, neuron ${neuron.index}`;
    $("batch-neuron").textContent = name;
    batch.examples.forEach((example) => {
      const figure = document.createElement("figure");
      figure.className = "batch-example";
      figure.appendChild(digitCanvas(example.pixels, `training digit #${example.index}, a ${classes[example.label]}`));
      const tile = document.createElement("canvas");
      tile.className = "tile";
      paintSigned(tile, example.weights, batch.shape, scale);
      tile.setAttribute("role", "img");
      tile.setAttribute("aria-label", `the weight changes a ${classes[example.label]} wants`);
      figure.appendChild(tile);
      figure.insertAdjacentHTML("beforeend", `<figcaption>a “${escapeHTML(classes[example.label])}” · C = ${fmt(example.cost, 3)}</figcaption>`);
      row.appendChild(figure);
    });
    const average = document.createElement("figure");
    average.className = "batch-average";
    const tile = document.createElement("canvas");
    tile.className = "tile";
    tile.id = "batch-average";
    const averageScale = absMax(batch.average.weights) || 1;
    paintSigned(tile, batch.average.weights, batch.shape, averageScale);
    tile.setAttribute("role", "img");
    tile.setAttribute("aria-label", "the average of the ten desired changes: the negative gradient");
    average.innerHTML = `<div class="equals" aria-hidden="true">average =</div>`;
    average.appendChild(tile);
    average.insertAdjacentHTML("beforeend", `<figcaption>the negative gradient<br>(its own scale, ±${fmt(averageScale, 4)}) · ` +
      `mean C = ${fmt(batch.average.cost, 3)}</figcaption>`);
    row.appendChild(average);
    $("batch-scale").textContent = `The ten pictures share one scale: ±${fmt(scale, 4)}.`;
  }

  $("batch-new").addEventListener("click", () => { state.batch = null; state.seed += 1; loadBatch(); });
  $("batch-step").addEventListener("click", async () => {
    if (!state.batch) return;
    try {
      const examples = state.batch.examples.map((e) => ({ set: e.set, index: e.index }));
      const step = await postJSON("/api/backprop/step", { examples, learning_rate: rate() });
      const words = `One step on all ten (η = ${sig(rate())}): their mean cost went from ${sig(step.cost_before, 4)} ` +
        `to ${sig(step.cost_after, 4)}.`;
      $("batch-result").textContent = words;
      announce(words);
      await refresh();
      loadBatch();
    } catch (error) { $("batch-result").textContent = error.message; }
  });

  return {
    async show(example) {
      if (example && example.drawing) setExample({ kind: "drawing", drawing: example.drawing, label: null });
      else if (example && example.digit !== undefined) {
        const digit = await api(`/api/digits?mode=index&index=${example.digit}`);
        setExample({ kind: "digit", digit: digit.index, pixels: digit.pixels, label: digit.label });
      } else if (!state.example) await randomDigit();
      else refresh();
      if (!state.batch) loadBatch();
    },
    modelChanged() {
      const model = lab.model();
      view.setModel(model);
      labelButtons();
      state.neuron = null; state.batch = null;
      const quadratic = model.cost === "quadratic";
      $("teach-rate").value = quadratic ? 3 : 0.5;
      $("teach-mode-caption").textContent = MODES[state.mode];
    },
  };
}
