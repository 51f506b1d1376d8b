// Train: the settings, the live curves, the weight tiles of a run on the server.

import { $, api, escapeHTML, postJSON } from "./api.js";
import { diverging, fitCanvas, niceStep, paintImage } from "./paint.js";

export function createTrain(lab) {
  const series = { train: [], test: [], epochs: 1 };
  const state = { run: null, save: null, chartFrame: null };

  async function load() {
    const status = await api("/api/train");
    const d = status.defaults, limits = status.limits;
    const options = (id, names, chosen) => {
      $(id).innerHTML = names.map((n) => `<option${n === chosen ? " selected" : ""}>${escapeHTML(n)}</option>`).join("");
    };
    options("f-activation", limits.activation, d.activation);
    options("f-optimizer", limits.optimizer, d.optimizer);
    options("f-schedule", limits.lr_schedule, d.lr_schedule);
    $("f-hidden").value = d.hidden.join(", ");
    $("f-learning-rate").value = d.learning_rate;
    $("f-epochs").value = d.epochs; $("f-epochs").max = limits.epochs[1];
    $("f-batch-size").value = d.batch_size; $("f-batch-size").max = limits.batch_size[1];
    $("f-train-size").value = d.train_size; $("f-train-size").max = limits.train_size[1];
    showSave(status.save);
    if (status.run) {
      const r = status.run.settings;
      fillForm(r);
      watch(status.run.run, status.running);
      if (status.running && !lab.model().trained) {
        const hidden = r.hidden.length ? `${r.hidden.join(" → ")} ${r.activation} neurons` : "no hidden layer";
        $("train-intro").textContent = "No model file was given, so the lab is training the default network: " +
          `${lab.model().input.size} inputs → ${hidden} → ${lab.model().classes.length} softmax outputs, ` +
          `cross-entropy cost, the ${r.optimizer} optimizer with learning rate ${r.learning_rate} on a ` +
          `${r.lr_schedule} schedule, batches of ${r.batch_size}, ${r.epochs} epochs over ` +
          `${r.train_size.toLocaleString("en")} training digits. It takes a few seconds. Afterwards, change the ` +
          "settings here and train again.";
      }
    }
  }

  function fillForm(settings) {   // the form shows the settings of the run being watched
    const set = (id, value) => { if (value !== undefined && value !== null) $(id).value = value; };
    set("f-hidden", (settings.hidden || []).join(", "));
    set("f-activation", settings.activation); set("f-optimizer", settings.optimizer);
    set("f-schedule", settings.lr_schedule); set("f-learning-rate", settings.learning_rate);
    set("f-epochs", settings.epochs); set("f-batch-size", settings.batch_size); set("f-train-size", settings.train_size);
  }

  function showSave(save) {
    state.save = save;
    if (!save.enabled) {
      $("save").disabled = true;
      $("save-note").innerHTML = "To keep a trained model, start the lab with <code>--save&nbsp;PATH</code>: " +
        "the file is chosen where the server runs, not in this page.";
    } else {
      $("save").disabled = !lab.model().trained;
      $("save-note").textContent = save.saved ? `Saved to ${save.saved.path} at ${save.saved.at}.` : `Saves the current model to ${save.path}.`;
    }
  }

  function settingsFromForm() {
    const text = $("f-hidden").value.trim();
    return {
      hidden: text ? text.split(/[\s,]+/).filter(Boolean).map(Number) : [],
      activation: $("f-activation").value,
      optimizer: $("f-optimizer").value,
      learning_rate: Number($("f-learning-rate").value),
      lr_schedule: $("f-schedule").value,
      epochs: Number($("f-epochs").value),
      batch_size: Number($("f-batch-size").value),
      train_size: Number($("f-train-size").value),
    };
  }

  $("train-form").addEventListener("submit", async (event) => {
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
    try { await postJSON("/api/train/stop"); } catch (error) { /* it ended already */ }
  });
  $("save").addEventListener("click", async () => {
    try {
      const saved = await postJSON("/api/model/save");
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
    const on = (type, handler) => source.addEventListener(type, (e) => { if (e.data) handler(JSON.parse(e.data)); });
    on("start", (e) => {
      series.epochs = e.epochs;
      status(`Run ${runId}: training ${e.sizes.join(" → ")} on ${e.train_size.toLocaleString("en")} digits…`);
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
        (e.type === "error" ? "" : " Draw and Test digits now use this network."));
      await lab.refreshModel();
      if (state.save) showSave(state.save);
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
    lab.trainingChanged(running);
  }

  function status(html) { $("train-status").innerHTML = html; }

  // a line chart on a canvas: the training series as a line, the test points as dots; the axes
  // fit the data (both series), so the gap between them shows
  function drawChart(canvas, column, { percent }) {
    if (!canvas.clientWidth) return;
    const { ctx, width, height } = fitCanvas(canvas);
    const left = 50, right = 14, top = 12, bottom = 36;
    const values = [...series.train, ...series.test].map((p) => p[column]).filter(Number.isFinite);
    let low = Math.min(...values), high = Math.max(...values);
    if (!values.length) { low = 0; high = 1; }
    if (high - low < 1e-6) { low -= 0.01; high += 0.01; }
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
      drawChart($("chart-cost"), 1, { percent: false });
      drawChart($("chart-accuracy"), 2, { percent: true });
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

  window.addEventListener("resize", drawCharts);

  return { load, drawCharts, running: () => Boolean(state.run && state.run.running) };
}
