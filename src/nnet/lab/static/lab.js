// nnet lab: the page. It draws what the server's JSON API answers and holds no model logic:
// the server preprocesses drawings, runs the network, backpropagates and trains; these modules
// only show the results. This one holds the views together: the tabs, the model line, the banner.

import { $, api, escapeHTML } from "./api.js";
import { createInside } from "./inside.js";
import { createLook } from "./look.js";
import { createTeach } from "./teach.js";
import { createTrain } from "./train.js";

const VIEWS = ["draw", "browse", "teach", "train", "inside"];
const PANELS = { draw: "view-look", browse: "view-look", teach: "view-teach", train: "view-train", inside: "view-inside" };
const state = { view: null, model: null, training: false };

const lab = {
  model: () => state.model,
  async follow(version) {   // an answer from a newer model: catch up with it
    if (state.model && state.model.version !== version) await loadModel();
  },
  async refreshModel() { await loadModel(); if (state.view) showView(state.view, { focus: false }); },
  teach(example) { showView("teach", { example }); },
  trainingChanged(running) { state.training = running; updateBanner(); },
};
const look = createLook(lab);
const teach = createTeach(lab);
const train = createTrain(lab);
const inside = createInside(lab);

async function loadModel() {
  const model = await api("/api/model");
  const changed = !state.model || state.model.version !== model.version;
  state.model = model;
  if (changed) {
    look.modelChanged();
    teach.modelChanged();
    inside.modelChanged();
  }
  const sizes = [model.input.size, ...model.layers.map((l) => l.size)].join(" → ");
  const hidden = [...new Set(model.layers.slice(0, -1).map((l) => l.activation))].join(", ");
  const test = model.summary && model.summary.scores && model.summary.scores.test;
  const accuracy = test && typeof test.accuracy === "number"
    ? ` · <b>${(test.accuracy * 100).toFixed(1)}%</b> of the test digits right` : "";
  $("model-line").innerHTML = `Model: <b>${escapeHTML(model.source)}</b><br>${sizes} neurons` +
    `${hidden ? " · " + hidden : ""} · ${model.layers[model.layers.length - 1].activation} output · ${model.cost.replace("_", "-")} cost${accuracy}`;
  updateBanner();
  return changed;
}

function updateBanner() {
  const banner = $("banner");
  const running = state.training;
  if (state.model && !state.model.trained) {
    const where = state.view === "train" ? "watch it below" : 'see <a href="#" data-go="train">Train</a>';
    banner.innerHTML = running
      ? "<b>This network has not learned anything yet</b>: its weights are random, so its answers are guesses. " +
        `It is training right now (${where}); when it finishes, Draw and Test digits use what it learned.`
      : "<b>This network has not learned anything yet</b>: its weights are random. " +
        (state.view === "train" ? "Train it here." : 'Train it in the <a href="#" data-go="train">Train</a> view.');
    banner.hidden = false;
  } else if (running && state.view !== "train") {
    banner.innerHTML = 'A new network is training (see <a href="#" data-go="train">Train</a>). ' +
      "The current model keeps answering meanwhile.";
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

// -- tabs: the WAI-ARIA tabs pattern (arrow keys move between them, Tab moves into the view) ------

function showView(view, { example = null, focus = false } = {}) {
  state.view = view;
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.dataset.view === view;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    if (selected && focus) tab.focus();
  }
  for (const panel of new Set(Object.values(PANELS))) $(panel).hidden = panel !== PANELS[view];
  $(PANELS[view]).setAttribute("aria-labelledby", `tab-${view}`);
  document.body.dataset.view = view;
  updateBanner();
  if (view === "draw" || view === "browse") look.show(view);
  else if (view === "teach") teach.show(example);
  else if (view === "train") train.drawCharts();
  else if (view === "inside") inside.show();
}

const tablist = document.querySelector('[role="tablist"]');
tablist.addEventListener("click", (event) => {
  const tab = event.target.closest('[role="tab"]');
  if (tab) showView(tab.dataset.view);
});
tablist.addEventListener("keydown", (event) => {
  const at = VIEWS.indexOf(state.view);
  const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: VIEWS.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  showView(VIEWS[(next + VIEWS.length) % VIEWS.length], { focus: true });
});
$("banner").addEventListener("click", (event) => {
  const link = event.target.closest("[data-go]");
  if (link) { event.preventDefault(); showView(link.dataset.go); }
});

(async function start() {
  look.redrawPad();
  try {
    await loadModel();
  } catch (error) {
    $("model-line").textContent = `Cannot reach the lab server: ${error.message}`;
    return;
  }
  await train.load();
  showView(state.model.trained ? "draw" : "train");
  train.drawCharts();
})();
