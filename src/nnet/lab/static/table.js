// nnet lab, the page of a table model (table.html). The form comes from GET /api/table; every
// change sends the row to POST /api/table/predict and draws what comes back: each layer's
// neurons lit by their activations, then the answer. No model logic here: only drawing.
"use strict";

const $ = (id) => document.getElementById(id);
const WAIT_MS = 120;          // how long typing pauses before the row is sent
let features = [];            // the form's fields, from GET /api/table
let task = "classification";
let pending = null;           // the timer of the next send
let sent = 0;                 // the latest request's number: older answers are dropped

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function json(path, options) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function buildForm(form) {
  features = form.features;
  task = form.task;
  const holder = $("row-form");
  holder.replaceChildren();
  for (const feature of features) {
    const label = element("label");
    label.append(element("span", "name", feature.name));
    let field;
    if (feature.kind === "number") {
      field = element("input");
      field.type = "text";
      field.inputMode = "decimal";
      field.value = String(feature.median);
      label.append(field, element("span", "hint", `median ${format(feature.median)}, mean ${format(feature.mean)}`));
    } else {
      field = element("select");
      field.append(new Option("(missing)", ""));
      for (const category of feature.categories) field.append(new Option(category, category));
      field.value = feature.default === null ? "" : feature.default;
      label.append(field, element("span", "hint", `${feature.categories.length} categories; the most frequent first chosen`));
    }
    field.dataset.feature = feature.name;
    field.addEventListener("input", schedule);
    holder.append(label);
  }
}

function format(value) {
  return Math.abs(value) >= 1e4 || (Math.abs(value) < 1e-3 && value !== 0) ? value.toExponential(3) : String(+value.toFixed(4));
}

function row() {
  const values = {};
  for (const field of $("row-form").querySelectorAll("[data-feature]")) {
    values[field.dataset.feature] = field.value.trim() === "" ? null : field.value;
  }
  return values;
}

function schedule() {
  clearTimeout(pending);
  pending = setTimeout(send, WAIT_MS);
}

async function send() {
  const number = ++sent;
  try {
    const result = await json("/api/table/predict", {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({row: row()}),
    });
    if (number !== sent) return;
    $("form-error").hidden = true;
    drawLayers(result);
    drawAnswer(result);
    const unseen = $("unseen");
    unseen.hidden = result.unseen.length === 0;
    unseen.textContent = `Never seen in training (encoded as all zeros): ${result.unseen.join(", ")}`;
  } catch (failure) {
    if (number !== sent) return;
    $("form-error").hidden = false;
    $("form-error").textContent = failure.message;
  }
}

function colour(value, low, high) {
  // dark for the bottom of the layer's range, bright gold for the top
  const span = high - low || 1;
  const t = Math.max(0, Math.min(1, (value - low) / span));
  return `rgb(${Math.round(30 + 215 * t)}, ${Math.round(30 + 153 * t)}, ${Math.round(35 - 35 * t)})`;
}

function drawStrip(title, values, zs, range) {
  const box = element("div", "layer");
  box.append(element("div", "layer-title", title));
  const cells = element("div", "cells");
  const low = range && range[0] !== null ? range[0] : Math.min(...values, 0);
  const high = range && range[1] !== null ? range[1] : Math.max(...values, 1e-9);
  values.forEach((a, j) => {
    const cell = element("div", "cell");
    cell.style.background = colour(a, low, high);
    cell.title = zs ? `neuron ${j}: a = ${format(a)}, z = ${format(zs[j])}` : `input ${j}: ${format(a)}`;
    cells.append(cell);
  });
  box.append(cells);
  return box;
}

function drawLayers(result) {
  const holder = $("layers");
  holder.replaceChildren(drawStrip(`input: ${result.inputs.length} values after preprocessing`, result.inputs, null, null));
  for (const layer of result.layers) {
    holder.append(drawStrip(`layer ${layer.index} (${layer.name}): ${layer.size} ${layer.activation}`,
                            layer.a, layer.z, layer.range));
  }
}

function drawAnswer(result) {
  const bars = $("bars");
  bars.replaceChildren();
  if (result.task === "regression") {
    $("answer").textContent = result.targets.map((name, j) => `${name} = ${format(result.values[j])}`).join(", ");
    return;
  }
  $("answer").textContent = result.label;
  const order = result.probabilities.map((p, j) => [p, j]).sort((a, b) => b[0] - a[0]);
  for (const [p, j] of order.slice(0, 10)) {
    const bar = element("div", j === result.prediction ? "bar best" : "bar");
    const track = element("div", "track");
    const fill = element("div", "fill");
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    track.append(fill);
    bar.append(element("span", "name", formName(j)), track, element("span", "", `${(100 * p).toFixed(1)}%`));
    bars.append(bar);
  }
}

let classes = [];
function formName(j) { return classes[j] !== undefined ? classes[j] : String(j); }

async function start() {
  try {
    const [model, form] = await Promise.all([json("/api/model"), json("/api/table")]);
    classes = form.classes || [];
    const answers = form.task === "regression" ? `predicts ${form.targets.join(", ")}` : `classes ${classes.join(", ")}`;
    $("model-line").textContent = `${model.source}: ${form.features.length} features -> ` +
      `${[model.input.size, ...model.layers.map((layer) => layer.size)].join("-")} network, ${form.task} (${answers})`;
    buildForm(form);
    $("reset").addEventListener("click", () => { buildForm(form); send(); });
    send();
  } catch (failure) {
    $("model-line").textContent = `cannot load the model: ${failure.message}`;
  }
}

start();
