// Train: the settings (any output, cost and initialisation the library offers, a preset, or the
// current model to go on training), a run you can pause, step and re-rate live, its curves, each
// layer's gradient size, the weight tiles (or their change since the start), and the session's runs.

import { $, api, escapeHTML, fmt, postJSON, sig } from "./api.js";
import { drawLines } from "./charts.js";
import { CLASS_COLOURS, diverging, paintImage } from "./paint.js";

const TILES = {
  weights: "The incoming weights of the first hidden neurons, as 28×28 pictures, all on one colour scale " +
    "(red pushes a neuron on, blue holds it back; ±SCALE).",
  change: "How much each of those weights has changed since the run began, on one colour scale (±SCALE): " +
    "where the random start hid them, the strokes each neuron learned show here.",
};

export function createTrain(lab) {
  const series = { train: [], test: [], gradients: [], epochs: 1 };
  const state = { run: null, save: null, frame: null, tiles: "weights", latest: null, presets: {}, limits: null };

  async function load() {
    const status = await api("/api/train");
    const d = status.defaults, limits = status.limits;
    state.limits = limits;
    state.presets = status.presets;
    const options = (id, names, chosen) => {
      $(id).innerHTML = names.map((n) => `<option${n === chosen ? " selected" : ""}>${escapeHTML(n)}</option>`).join("");
    };
    options("f-activation", limits.activation, d.activation);
    options("f-output", limits.output, d.output);
    options("f-cost", limits.cost, d.cost);
    options("f-init", limits.init, d.init);
    options("f-optimizer", limits.optimizer, d.optimizer);
    options("f-schedule", limits.lr_schedule, d.lr_schedule);
    $("f-preset").innerHTML = `<option value="">none</option>` + Object.keys(status.presets).map((name) =>
      `<option value="${escapeHTML(name)}">${name === "lesson" ? "the lessons'" : escapeHTML(name)}</option>`).join("");
    fillForm(d);
    $("f-epochs").max = limits.epochs[1]; $("f-batch-size").max = limits.batch_size[1];
    $("f-train-size").max = limits.train_size[1];
    $("f-work").textContent = `One run may do at most ${limits.work[1].toExponential(0).replace("e+", "×10^")} ` +
      "multiply-adds (epochs × images × the network's size; small batches cost more): a few minutes. " +
      "For longer runs, use nnet train.";
    showSave(status.save);
    showRuns(status.runs, status.served_run);
    if (status.run) {
      fillForm(status.run.settings);
      watch(status.run.run, status.running);
      if (status.running && !lab.model().trained) {
        const r = status.run.settings;
        const hidden = r.hidden.length ? `${r.hidden.join(" → ")} ${r.activation} neurons` : "no hidden layer";
        $("train-intro").textContent = "No model file was given, so the lab is training the default network: " +
          `${lab.model().input.size} inputs → ${hidden} → ${lab.model().classes.length} ${r.output} outputs, ` +
          `${r.cost.replace("_", "-")} cost, the ${r.optimizer} optimizer with learning rate ${r.learning_rate} on a ` +
          `${r.lr_schedule} schedule, batches of ${r.batch_size}, ${r.epochs} epochs over ` +
          `${r.train_size.toLocaleString("en")} training digits. It takes a few seconds. Afterwards, change the ` +
          "settings here and train again.";
      }
    }
  }

  function fillForm(settings) {   // the form shows the settings of the run being watched
    const set = (id, value) => { if (value !== undefined && value !== null) $(id).value = value; };
    if (settings.hidden) set("f-hidden", settings.hidden.join(", "));
    set("f-activation", settings.activation); set("f-output", settings.output); set("f-cost", settings.cost);
    set("f-init", settings.init); set("f-optimizer", settings.optimizer); set("f-schedule", settings.lr_schedule);
    set("f-learning-rate", settings.learning_rate); set("f-epochs", settings.epochs);
    set("f-batch-size", settings.batch_size); set("f-train-size", settings.train_size);
  }

  $("f-preset").addEventListener("change", () => {
    const preset = state.presets[$("f-preset").value];
    if (preset) fillForm(preset);
  });
  $("f-start").addEventListener("change", () => {
    $("f-shape").disabled = $("f-start").value === "continue";
  });

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
    const settings = {
      optimizer: $("f-optimizer").value,
      learning_rate: Number($("f-learning-rate").value),
      lr_schedule: $("f-schedule").value,
      epochs: Number($("f-epochs").value),
      batch_size: Number($("f-batch-size").value),
      train_size: Number($("f-train-size").value),
    };
    if ($("f-start").value === "continue") return { ...settings, continue: true };
    return {
      ...settings,
      hidden: text ? text.split(/[\s,]+/).filter(Boolean).map(Number) : [],
      activation: $("f-activation").value, output: $("f-output").value, cost: $("f-cost").value, init: $("f-init").value,
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
  const steer = (path, body) => postJSON(path, body).then(showControls).catch((error) => {
    $("train-error").textContent = error.message; $("train-error").hidden = false;
  });
  $("train-stop").addEventListener("click", async () => {
    $("train-stop").disabled = true;
    try { await postJSON("/api/train/stop"); } catch (error) { /* it ended already */ }
  });
  $("train-pause").addEventListener("click", () => steer(state.paused ? "/api/train/resume" : "/api/train/pause"));
  $("train-step").addEventListener("click", () => steer("/api/train/step", { batches: 1 }));
  $("live-rate-set").addEventListener("click", () => steer("/api/train/learning_rate", { learning_rate: Number($("live-rate").value) }));
  $("save").addEventListener("click", async () => {
    try {
      const saved = await postJSON("/api/model/save");
      $("save-note").textContent = `Saved to ${saved.saved}.`;
    } catch (error) {
      $("save-note").textContent = error.message;
    }
  });

  function showControls(controls) {
    state.paused = controls.paused;
    $("train-pause").textContent = controls.paused ? "Resume" : "Pause";
    $("train-pause").setAttribute("aria-pressed", String(controls.paused));
    if (controls.learning_rate !== null && document.activeElement !== $("live-rate")) $("live-rate").value = controls.learning_rate;
  }

  // -- a run, through its events ----------------------------------------------------------------
  function watch(runId, running) {
    if (state.run && state.run.source) state.run.source.close();
    state.run = { id: runId, running, source: null };
    setRunning(running);
    series.train = []; series.test = []; series.gradients = []; series.epochs = 1;
    const source = new EventSource(`/api/train/events?run=${runId}`);
    state.run.source = source;
    const on = (type, handler) => source.addEventListener(type, (e) => { if (e.data) handler(JSON.parse(e.data)); });
    on("start", (e) => {
      series.epochs = e.epochs;
      series.names = e.sizes.slice(1).map((_, l) => (l === e.sizes.length - 2 ? "output" : `hidden ${l + 1}`));
      status(`Run ${runId}: training ${e.sizes.join(" → ")} on ${e.train_size.toLocaleString("en")} digits…`);
    });
    on("progress", (e) => {
      series.train.push([e.position, e.cost, e.accuracy]);
      if (e.gradient_sizes) series.gradients.push([e.position, ...e.gradient_sizes]);
      showControls({ paused: e.paused, learning_rate: e.learning_rate });
      status(`Run ${runId}${e.paused ? " (paused)" : ""}: epoch <b>${e.epoch}/${e.epochs}</b>, minibatch ` +
        `<b>${e.batch}/${e.batches}</b> · cost <b>${e.cost.toFixed(3)}</b> · accuracy <b>${(e.accuracy * 100).toFixed(1)}%</b>` +
        ` · η = ${sig(e.learning_rate)} · ${e.seconds.toFixed(1)} s`);
      drawCharts();
    });
    on("epoch", (e) => {
      if (e.test_accuracy !== null) series.test.push([e.epoch, e.test_cost, e.test_accuracy]);
      drawCharts();
    });
    on("weights", (e) => { state.latest = e; drawTiles(); });
    const finish = async (e, words) => {
      source.close();
      state.run.running = false;
      setRunning(false);
      const reached = Math.max(0, ...series.train.map((p) => p[0]));
      if (reached > 0 && reached < series.epochs) { series.epochs = Math.ceil(reached); drawCharts(); }  // stopped early
      const last = series.test[series.test.length - 1];
      const score = last ? ` · <b>${(last[2] * 100).toFixed(1)}%</b> of the test digits right` : "";
      const kept = e.kept;
      let after = "";
      if (kept && kept.served) after = " Draw and Test digits now use this network.";
      else if (kept && !kept.verdict.healthy) after = " <b>Look out</b>: " + kept.verdict.flags.map((f) => escapeHTML(f.why)).join(" ") +
        " It is kept below; the current model stays.";
      else if (kept) after = " It is kept below; the current model stays until you choose this one.";
      status(`Run ${runId} ${words}${e.seconds !== undefined ? ` in ${e.seconds.toFixed(1)} s` : ""}${score}.${after}`);
      await lab.refreshModel();
      const listing = await api("/api/runs");
      showRuns(listing.runs, listing.served_run);
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
    $("steer").disabled = !running;
    if (!running) showControls({ paused: false, learning_rate: null });
    lab.trainingChanged(running);
  }

  function status(html) { $("train-status").innerHTML = html; }

  // -- the session's runs ---------------------------------------------------------------------------
  function showRuns(runs, servedRun) {
    const box = $("runs");
    if (!runs || !runs.length) { box.innerHTML = '<p class="caption">None yet.</p>'; return; }
    box.innerHTML = runs.slice().reverse().map((run) => {
      const s = run.settings, test = run.scores && run.scores.test;
      const shape = run.sizes ? run.sizes.join("-") : [784, ...(s.hidden || []), 10].join("-");
      const flags = run.verdict.flags.map((f) => `<li>${escapeHTML(f.why)}</li>`).join("");
      const served = run.run === servedRun;
      return `<div class="run ${run.verdict.healthy ? "healthy" : "flagged"}" data-run="${run.run}">` +
        `<div class="run-head"><b>Run ${run.run}</b> · ${escapeHTML(shape)} ${escapeHTML(s.activation)} · ` +
        `${escapeHTML(s.output)} output · ${escapeHTML((s.cost || "").replace("_", "-"))} · ${escapeHTML(s.optimizer)} ` +
        `η = ${sig(s.learning_rate)}${run.last_learning_rate && run.last_learning_rate !== s.learning_rate ? ` → ${sig(run.last_learning_rate)}` : ""} · ${run.state}${test ? ` · <b>${(test.accuracy * 100).toFixed(1)}%</b> of the test digits` : ""}</div>` +
        (run.verdict.healthy ? '<p class="good-note">Healthy.</p>' : `<ul class="flags">${flags}</ul>`) +
        (served ? '<p class="served">Draw and Test digits use this one.</p>'
          : `<button type="button" class="use" data-run="${run.run}"${run.available ? "" : " disabled"}>` +
            `${run.available ? "Use this network" : "no longer kept"}</button>`) + "</div>";
    }).join("");
  }

  $("runs").addEventListener("click", async (event) => {
    const button = event.target.closest("button.use");
    if (!button) return;
    try {
      await postJSON(`/api/runs/${button.dataset.run}/use`);
      await lab.refreshModel();
      const listing = await api("/api/runs");
      showRuns(listing.runs, listing.served_run);
      status(`Draw and Test digits now use run ${button.dataset.run}'s network.`);
    } catch (error) { status(escapeHTML(error.message)); }
  });

  // -- charts and tiles -------------------------------------------------------------------------------
  function drawCharts() {
    if (state.frame) return;
    state.frame = requestAnimationFrame(() => {
      state.frame = null;
      const line = (column) => series.train.map((p) => [p[0], p[column]]);
      const dots = (column) => series.test.map((p) => [p[0], p[column]]);
      drawLines($("chart-cost"), [{ points: line(1), colour: "#2f6feb" }, { points: dots(1), colour: "#e8710a", dots: true }],
        { epochs: series.epochs });
      drawLines($("chart-accuracy"), [{ points: line(2), colour: "#2f6feb" }, { points: dots(2), colour: "#e8710a", dots: true }],
        { epochs: series.epochs, percent: true });
      const layers = series.gradients.length ? series.gradients[0].length - 1 : 0;
      const lines = [...Array(layers).keys()].map((l) => ({
        points: series.gradients.map((p) => [p[0], p[l + 1]]),
        colour: CLASS_COLOURS[l % CLASS_COLOURS.length] }));
      drawLines($("chart-gradients"), lines, { epochs: series.epochs, log: true });
      $("gradient-legend").innerHTML = (series.names || []).map((name) => `<span class="key-line"><i></i>${name}</span>`).join("");
      $("gradient-legend").querySelectorAll("i").forEach((i, l) => { i.style.background = CLASS_COLOURS[l % CLASS_COLOURS.length]; });
    });
  }

  function drawTiles() {
    const event = state.latest;
    if (!event) return;
    const grid = $("weight-grid");
    const change = state.tiles === "change";
    const bytes = Uint8Array.from(atob(change ? event.change : event.data), (c) => c.charCodeAt(0));
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
    grid.dataset.showing = state.tiles;
    $("tile-caption").textContent = TILES[state.tiles].replace("SCALE", fmt(change ? event.change_scale : event.scale, 3));
  }

  for (const button of document.querySelectorAll("#tile-modes button")) {
    button.addEventListener("click", () => {
      state.tiles = button.dataset.tiles;
      document.querySelectorAll("#tile-modes button").forEach((b) => b.setAttribute("aria-checked", String(b === button)));
      drawTiles();
    });
  }
  window.addEventListener("resize", drawCharts);

  return { load, drawCharts, running: () => Boolean(state.run && state.run.running) };
}
