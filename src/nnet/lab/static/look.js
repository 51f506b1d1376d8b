// Draw and Test digits: an input on the left, the network in the middle, one neuron on the right.
// The answer says what the output neurons say, as they are: softmax outputs are probabilities,
// sigmoid outputs are not, and below the threshold the network says "I don't know".

import { $, announce, api, escapeHTML, fmt, postJSON } from "./api.js";
import { NetworkView } from "./network.js";
import { absMax, brightness, digitCanvas, paintImage, paintSigned, sizePicture } from "./paint.js";

const SEND_EVERY_MS = 100;      // while drawing, send the drawing at most this often
const PEN_WIDTH = 22;           // on the 280x280 pad: MNIST strokes are ~2 px of 28
const TOP_DIGITS = 8;

export function createLook(lab) {
  const view = new NetworkView($("layers"), {
    outputsId: "outputs",
    onInspect: (l, j) => inspect(l, j, true),
    onPin: (l, j) => inspect(l, j, false),
    onLeave: () => { view.showWeightsBelow(null, null); if (view.pinned) inspect(view.pinned.layer, view.pinned.index, false); },
  });
  const state = { result: null, shown: null, cache: new Map(), top: new Map(), source: "draw",
    browse: { mode: "random", cls: 0, position: null, count: 0, index: null, loaded: false, ticket: 0 },
    digit: null };

  // -- the answer, honestly -------------------------------------------------------------------
  function threshold() { return Number($("idk").value); }

  function answer(result) {
    const output = result.layers[result.layers.length - 1];
    const classes = lab.model().classes;
    const k = output.a.length;
    const best = result.prediction;
    const sure = k === 1 ? Math.max(output.a[0], 1 - output.a[0]) : output.a[best];
    const name = classes[best] ?? String(best);
    const softmax = output.activation === "softmax";
    const how = softmax ? `${(sure * 100).toFixed(1)}% sure` : `its “${escapeHTML(name)}” neuron is at ${fmt(sure)}`;
    if (sure < threshold()) {
      return { text: "?", html: `<b>I don't know</b>: the brightest output, “${escapeHTML(name)}”, is at ${fmt(sure)}, ` +
        `below ${fmt(threshold(), 2)}`, spoken: `The network does not know: its best guess, ${name}, is at ${fmt(sure)}.` };
    }
    const note = softmax ? "softmax outputs are probabilities: they add up to 1"
      : `${output.activation} outputs are each between 0 and 1 on their own; they need not add up to 1`;
    return { text: name, html: `${how}<br><span class="note">${note}</span>`,
      spoken: `The network says ${name}, ${softmax ? how : `its output at ${fmt(sure)}`}.` };
  }

  function showResult(result, { speak = false } = {}) {
    state.result = result;
    document.dispatchEvent(new CustomEvent("nnet:result", { detail: result }));   // feature-maps.js draws a conv net's maps
    if (!result) {
      $("layers").innerHTML = '<p class="empty">Waiting for a drawing…</p>';
      view.layout = "";
      view.result = null;
      $("answer").textContent = "–";
      $("answer-sure").textContent = state.source === "draw" ? "draw something" : "";
      refreshValues();
      return;
    }
    view.show(result, "a");
    const said = answer(result);
    $("answer").textContent = said.text;
    $("answer-sure").innerHTML = said.html;
    if (speak) announce(said.spoken);
    refreshValues();
    fetchLinks();
  }

  async function fetchLinks() {
    const model = lab.model();
    for (const layer of model.layers) {
      if (layer.index === 0 || view.links.has(layer.index)) continue;
      if (layer.size > 32 || model.layers[layer.index - 1].size > 32) continue;
      view.links.set(layer.index, { weights: [], inputs: -1 });   // asked for
      try {
        view.setLinks(layer.index, await api(`/api/links/${layer.index}`));
      } catch (error) { view.links.delete(layer.index); }
    }
  }

  // -- the inspector: one neuron -----------------------------------------------------------------
  async function neuron(l, j) {
    const key = `${lab.model().version}/${l}/${j}`;
    if (!state.cache.has(key)) state.cache.set(key, await api(`/api/neuron/${l}/${j}`));
    return state.cache.get(key);
  }

  async function inspect(l, j, pointing) {
    state.shown = { layer: l, index: j };
    let data;
    try { data = await neuron(l, j); } catch (error) { return; }
    if (!state.shown || state.shown.layer !== l || state.shown.index !== j) return;   // moved on
    if (pointing && (l === 0 || lab.model().layers[l - 1].size > 32)) view.showWeightsBelow(l, data.weights);
    drawNeuron(data);
    if (l < lab.model().layers.length - 1) topDigits(l, j);
    else $("top-digits").hidden = true;
  }

  function drawNeuron(data) {
    $("inspector-empty").hidden = true;
    $("inspector-body").hidden = false;
    const model = lab.model();
    const output = data.layer === model.layers.length - 1;
    const label = output ? ` (“${escapeHTML(model.classes[data.index] ?? data.index)}”)` : "";
    const name = output ? "Output layer" : `Hidden layer ${data.layer + 1}`;
    $("neuron-title").innerHTML = `${name}, neuron ${data.index}${label}`;
    const canvas = $("neuron-weights");
    const scale = paintSigned(canvas, data.weights, data.shape, data.abs_max || 1);
    sizePicture(canvas, data.shape);
    canvas.dataset.version = data.version; canvas.dataset.layer = data.layer; canvas.dataset.index = data.index;
    $("legend-low").textContent = `−${fmt(scale)}`;
    $("legend-high").textContent = `+${fmt(scale)}`;
    const from = data.inputs_from === "input" ? "input pixel" : `neuron of ${data.inputs_from.replace("hidden", "hidden layer")}`;
    $("neuron-caption").textContent = data.shape.length === 2
      ? "Its incoming weights, one per pixel, laid out like the image: what pixel pattern this neuron picks up on. " +
        "Ink on red pixels raises its z; ink on blue ones lowers it."
      : `Its incoming weights, one per ${from} (${data.weights.length}, in order, ${Math.min(16, data.weights.length)} to a row). ` +
        "A lit neuron there on a red square raises this neuron's z; on a blue one, lowers it.";
    $("neuron-fn").textContent = data.activation;
    $("neuron-b").textContent = fmt(data.bias);
    refreshValues();
  }

  // z = Σ w·a + b for the input shown, and which inputs raised it (w ⊙ a)
  function refreshValues() {
    const shown = state.shown, result = state.result;
    const layer = shown && result && result.layers[shown.layer];
    $("neuron-z").textContent = layer ? fmt(layer.z[shown.index]) : "–";
    $("neuron-a").textContent = layer ? fmt(layer.a[shown.index]) : "–";
    const key = shown && `${lab.model().version}/${shown.layer}/${shown.index}`;
    const data = key && state.cache.get(key);
    const box = $("contribution");
    if (!layer || !data) { box.hidden = true; return; }
    const below = shown.layer === 0 ? result.input : result.layers[shown.layer - 1].a;
    const product = data.weights.map((w, k) => w * below[k]);
    const scale = paintSigned($("neuron-product"), product, data.shape, absMax(product) || 1);
    sizePicture($("neuron-product"), data.shape);
    const sum = product.reduce((s, v) => s + v, 0);
    $("contribution-caption").innerHTML = `Each weight times the activation it multiplies (w·a, up to ±${fmt(scale)}): ` +
      `red inputs raised z, blue ones lowered it. They add up to about ${fmt(sum, 2)}; with the bias ${fmt(data.bias, 2)}, ` +
      `that makes z ≈ ${fmt(sum + data.bias, 2)}.`;
    box.hidden = false;
  }

  async function topDigits(l, j) {
    const key = `${lab.model().version}/${l}/${j}`;
    const box = $("top-digits");
    try {
      if (!state.top.has(key)) state.top.set(key, await api(`/api/neuron/${l}/${j}/top?count=${TOP_DIGITS}`));
    } catch (error) { box.hidden = true; return; }
    if (!state.shown || state.shown.layer !== l || state.shown.index !== j) return;
    const top = state.top.get(key);
    const row = $("top-digit-row");
    row.innerHTML = "";
    top.indices.forEach((index, n) => {
      const figure = document.createElement("figure");
      figure.appendChild(digitCanvas(top.pixels[n], `test digit #${index}, a “${top.labels[n]}”: a = ${fmt(top.activations[n])}`));
      figure.insertAdjacentHTML("beforeend", `<figcaption>${fmt(top.activations[n], 2)}</figcaption>`);
      row.appendChild(figure);
    });
    box.hidden = false;
  }

  // -- Draw: strokes on the pad, sent as gray pixels while drawing --------------------------------
  const pad = $("pad");
  const padContext = pad.getContext("2d", { willReadFrequently: true });
  const strokes = [];
  let drawing = false, lastSent = 0, inFlight = false, again = false, speakNext = false;

  function padPoint(event) {
    const box = pad.getBoundingClientRect();
    return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
  }

  function redrawPad() {
    padContext.fillStyle = "white";
    padContext.fillRect(0, 0, pad.width, pad.height);
    Object.assign(padContext, { strokeStyle: "black", fillStyle: "black", lineWidth: PEN_WIDTH, lineCap: "round", lineJoin: "round" });
    for (const points of strokes) {
      padContext.beginPath();
      if (points.length === 1) {
        padContext.arc(points[0][0], points[0][1], PEN_WIDTH / 2, 0, 2 * Math.PI);
        padContext.fill();
        continue;
      }
      padContext.moveTo(points[0][0], points[0][1]);
      for (const [x, y] of points.slice(1)) padContext.lineTo(x, y);
      padContext.stroke();
    }
  }

  pad.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    drawing = true;
    strokes.push([padPoint(event)]);
    redrawPad();
    if (performance.now() - lastSent >= SEND_EVERY_MS) send();
  });
  pad.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const stroke = strokes[strokes.length - 1];
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of (events.length ? events : [event])) stroke.push(padPoint(e));
    redrawPad();
    if (performance.now() - lastSent >= SEND_EVERY_MS) send();
  });
  for (const type of ["pointerup", "pointercancel"]) {
    pad.addEventListener(type, () => {
      if (!drawing) return;
      drawing = false;
      speakNext = true;
      send();
    });
  }
  $("undo").addEventListener("click", () => { strokes.pop(); redrawPad(); speakNext = true; strokes.length ? send() : showResult(null); });
  $("clear").addEventListener("click", () => { strokes.length = 0; redrawPad(); showResult(null); announce("Cleared."); });
  $("idk").addEventListener("input", () => {
    $("idk-value").textContent = Number($("idk").value).toFixed(2);
    if (state.result) showResult(state.result);
  });

  function drawingBody() {
    const rgba = padContext.getImageData(0, 0, pad.width, pad.height).data;
    const gray = new Uint8Array(pad.width * pad.height);
    for (let i = 0; i < gray.length; i++) gray[i] = rgba[i * 4];   // black ink on white: any channel
    let text = "";
    for (let i = 0; i < gray.length; i += 0x8000) text += String.fromCharCode.apply(null, gray.subarray(i, i + 0x8000));
    return { width: pad.width, height: pad.height, pixels: btoa(text) };
  }

  async function send() {
    if (!strokes.length) return;
    if (inFlight) { again = true; return; }
    inFlight = true; again = false; lastSent = performance.now();
    const speak = speakNext && !drawing;
    if (speak) speakNext = false;
    try {
      const result = await postJSON("/api/predict", drawingBody());
      if (state.source === "draw" && strokes.length) {
        $("look-error").hidden = true;
        await lab.follow(result.version);
        showResult(result, { speak });
        $("pad").dataset.answered = String(Number($("pad").dataset.answered || 0) + 1);
      }
    } catch (error) {
      $("look-error").textContent = error.message;
      $("look-error").hidden = false;
    } finally {
      inFlight = false;
      if (again) send();
    }
  }

  // -- Test digits --------------------------------------------------------------------------------
  const browse = state.browse;

  function fillClassSelect() {
    const names = lab.model().classes;
    $("browse-class").innerHTML = names.map((name, k) => `<option value="${k}">${escapeHTML(name)}</option>`).join("");
    $("browse-class").value = String(browse.cls);
  }

  async function loadDigit({ position = null, mode = browse.mode, index = null }) {
    const query = new URLSearchParams({ mode: index !== null ? "index" : mode });
    if (index !== null) query.set("index", index);
    if (mode === "class" && index === null) query.set("class", browse.cls);
    if (position !== null && index === null) query.set("position", position);
    const ticket = ++browse.ticket;
    try {
      const digit = await api(`/api/digits?${query}`);
      if (ticket !== browse.ticket) return;   // a later click has asked for another digit
      browse.loaded = true;
      if (index === null) Object.assign(browse, { position: digit.position, count: digit.count });
      browse.index = digit.index;
      state.digit = digit;
      $("look-error").hidden = true;
      await lab.follow(digit.version);
      showDigit(digit);
    } catch (error) {
      $("digit-info").textContent = error.message;
    }
  }

  function showDigit(digit) {
    paintImage($("digit"), digit.pixels.map((p) => p / 255), Math.round(Math.sqrt(digit.pixels.length)), brightness);
    const guess = digit.prediction;
    const where = browse.mode === "mistakes" ? `mistake ${browse.position + 1} of ${browse.count}`
      : browse.mode === "class" ? `${browse.position + 1} of ${browse.count} “${escapeHTML(digit.label_name)}”s`
      : `${(digit.index + 1).toLocaleString("en")} of ${browse.count.toLocaleString("en")}`;
    $("digit-info").innerHTML = `Test digit #${digit.index} (${where})<br>written as <b>${escapeHTML(digit.label_name)}</b> · ` +
      `the network says ` + (digit.correct ? `<span class="right">${escapeHTML(guess.label)} ✓</span>`
        : `<span class="wrong">${escapeHTML(guess.label)} ✗</span>`);
    if (state.source === "browse") showResult(guess, { speak: true });
  }

  $("browse-mode").addEventListener("change", (event) => {
    browse.mode = event.target.value;
    $("browse-class").hidden = browse.mode !== "class";
    loadDigit({ position: browse.mode === "random" ? null : 0 });
  });
  $("browse-class").addEventListener("change", (event) => { browse.cls = +event.target.value; loadDigit({ position: 0 }); });
  $("browse-random").addEventListener("click", () => loadDigit({}));
  $("browse-next").addEventListener("click", () => loadDigit({ position: (browse.position ?? -1) + 1 }));
  $("browse-prev").addEventListener("click", () => loadDigit({ position: (browse.position ?? 1) - 1 }));
  $("teach-this-drawing").addEventListener("click", () => { if (strokes.length) lab.teach({ drawing: drawingBody() }); });
  $("teach-this-digit").addEventListener("click", () => { if (state.digit) lab.teach({ digit: state.digit.index }); });

  return {
    show(source) {
      state.source = source;
      $("source-draw").hidden = source !== "draw";
      $("source-browse").hidden = source !== "browse";
      if (source === "draw") {
        if (strokes.length) send(); else showResult(null);
      } else if (!browse.loaded) loadDigit({});
      else loadDigit({ index: browse.index });
    },
    modelChanged() {
      state.cache.clear(); state.top.clear();
      view.setModel(lab.model());
      state.shown = null;
      $("inspector-body").hidden = true;
      $("inspector-empty").hidden = false;
      fillClassSelect();
    },
    hasDrawing: () => strokes.length > 0,
    drawingBody,
    redrawPad,
  };
}
