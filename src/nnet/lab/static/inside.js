// Inside: layer health (dead and saturated neurons, weights, activations, gradients), a map of
// what each layer sees, and how sure the network is against how often it is right.

import { $, api, escapeHTML, fmt } from "./api.js";
import { CLASS_COLOURS, digitCanvas, drawHistogram, fitCanvas } from "./paint.js";

export function createInside(lab) {
  const state = { version: null, map: null, picked: null };

  // -- health ----------------------------------------------------------------------------------
  async function health() {
    const box = $("health-layers");
    const verdict = await api("/api/health");
    const flags = verdict.flags.map((f) => `<li class="flag ${f.kind}">${escapeHTML(f.why)}</li>`).join("");
    $("health-verdict").innerHTML = verdict.healthy
      ? `<span class="good">Healthy</span>: ${fmt(verdict.accuracy * 100, 1)}% of ${verdict.probe.toLocaleString("en")} ` +
        "test digits right, and no layer mostly dead or saturated."
      : `<span class="bad">Look out:</span><ul>${flags}</ul>`;
    box.innerHTML = "";
    for (const layer of verdict.layers) {
      const card = document.createElement("div");
      card.className = "health-layer";
      const stuck = layer.activation === "relu"
        ? `${layer.dead.length} of ${layer.size} dead` : ["sigmoid", "tanh"].includes(layer.activation)
          ? `${layer.saturated.length} of ${layer.size} saturated` : `${layer.size} neurons`;
      card.innerHTML = `<h3>${escapeHTML(layer.name)} <span class="hint">· ${layer.activation} · ${stuck}</span></h3>` +
        `<p class="caption">gradient size (RMS of ∂C/∂W): <b>${fmt(layer.gradient_size, 4)}</b></p>`;
      for (const [key, title] of [["weights", "weights"], ["activations", "activations a"], ["gradients", "gradients ∂C/∂W"]]) {
        const figure = document.createElement("figure");
        figure.innerHTML = `<figcaption>${title}</figcaption>`;
        const canvas = document.createElement("canvas");
        canvas.className = "histogram";
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", `histogram of ${layer.name}'s ${title}`);
        figure.appendChild(canvas);
        card.appendChild(figure);
        requestAnimationFrame(() => drawHistogram(canvas, layer[key], key === "gradients" ? "#e8710a" : "#2f6feb"));
      }
      box.appendChild(card);
    }
  }

  // -- the map -----------------------------------------------------------------------------------
  function layerOptions() {
    const model = lab.model();
    $("map-layer").innerHTML = `<option value="-1">the pixels (input)</option>` + model.layers.map((l) =>
      `<option value="${l.index}"${l.index === 0 ? " selected" : ""}>${escapeHTML(l.name)} (${l.size} neurons)</option>`).join("");
    $("map-legend").innerHTML = model.classes.map((name) => `<span><i></i>${escapeHTML(name)}</span>`).join("");
    $("map-legend").querySelectorAll("i").forEach((dot, k) => { dot.style.background = CLASS_COLOURS[k % CLASS_COLOURS.length]; });
  }

  async function map() {
    const query = new URLSearchParams({ layer: $("map-layer").value, count: $("map-count").value, method: $("map-method").value });
    $("map-info").textContent = "Placing the digits…";
    try {
      state.map = await api(`/api/map?${query}`);
    } catch (error) { $("map-info").textContent = error.message; return; }
    const methods = state.map.methods;
    for (const option of $("map-method").options) option.disabled = !methods.includes(option.value);
    drawMap();
    const m = state.map;
    const axes = m.explained ? ` The two axes hold ${fmt(100 * (m.explained[0] + m.explained[1]), 0)}% of the variation.` : "";
    $("map-info").innerHTML = `${m.count.toLocaleString("en")} test digits placed by <b>${escapeHTML(m.name)}</b> ` +
      `(${m.method === "pca" ? "PCA" : "t-SNE"}). <b>${fmt(100 * m.separation, 0)}%</b> of them lie closest to the ` +
      `centre of their own kind.${axes} Click a dot to see its digit.`;
    $("map").dataset.points = m.points.length;
  }

  function drawMap() {
    const canvas = $("map"), m = state.map;
    if (!m || !canvas.clientWidth) return;
    const { ctx, width, height } = fitCanvas(canvas);
    ctx.clearRect(0, 0, width, height);
    const pad = 10, r = m.count > 2000 ? 1.8 : 2.6;
    state.place = (p) => [pad + (p[0] + 1) / 2 * (width - 2 * pad), pad + (1 - (p[1] + 1) / 2) * (height - 2 * pad)];
    ctx.globalAlpha = 0.75;
    m.points.forEach((p, i) => {
      const [x, y] = state.place(p);
      ctx.fillStyle = CLASS_COLOURS[m.labels[i] % CLASS_COLOURS.length];
      ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.fill();
    });
    ctx.globalAlpha = 1;
    if (state.picked !== null && state.picked < m.points.length) {
      const [x, y] = state.place(m.points[state.picked]);
      ctx.strokeStyle = "#1f2328"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.stroke();
    }
  }

  $("map").addEventListener("click", async (event) => {
    const m = state.map;
    if (!m || !state.place) return;
    const box = $("map").getBoundingClientRect();
    const x = event.clientX - box.left, y = event.clientY - box.top;
    let best = null, bestDistance = 10;
    m.points.forEach((p, i) => {
      const [px, py] = state.place(p);
      const d = Math.hypot(px - x, py - y);
      if (d < bestDistance) { best = i; bestDistance = d; }
    });
    if (best === null) return;
    state.picked = best;
    drawMap();
    const digit = await api(`/api/digits?mode=index&index=${m.indices[best]}`);
    const pick = $("map-pick");
    pick.innerHTML = "";
    pick.appendChild(digitCanvas(digit.pixels, `test digit #${digit.index}`));
    pick.insertAdjacentHTML("beforeend", `<p>Test digit #${digit.index}, written as <b>${escapeHTML(digit.label_name)}</b>; ` +
      `the network says <b class="${digit.correct ? "right" : "wrong"}">${escapeHTML(digit.prediction.label)}</b>. ` +
      `<button type="button" id="map-teach">Teach it this digit</button></p>`);
    $("map-teach").addEventListener("click", () => lab.teach({ digit: digit.index }));
    pick.hidden = false;
  });
  for (const id of ["map-layer", "map-method", "map-count"]) $(id).addEventListener("change", () => { state.picked = null; map(); });

  // -- calibration --------------------------------------------------------------------------------
  async function calibration() {
    const c = await api("/api/calibration");
    drawCalibration(c);
    const rows = c.thresholds.filter((t) => [0, 0.5, 0.7, 0.9, 0.95].includes(t.threshold));
    $("calibration-table").innerHTML = `<tr><th>“I don't know” below</th><th>answers</th><th>right, of those</th></tr>` +
      rows.map((t) => `<tr><td>${t.threshold.toFixed(2)}</td><td>${fmt(100 * t.answered, 1)}%</td>` +
        `<td>${t.accuracy === null ? "–" : `${fmt(100 * t.accuracy, 1)}%`}</td></tr>`).join("");
    $("calibration-info").innerHTML = `How sure: ${escapeHTML(c.confidence_from)}. Over ${c.count.toLocaleString("en")} test ` +
      `digits it is right ${fmt(100 * c.accuracy, 1)}% of the time; on average its confidence is off from how often it ` +
      `is right by <b>${fmt(100 * c.expected_error, 1)} points</b>. Bars on the diagonal would be perfectly honest.`;
  }

  function drawCalibration(c) {
    const canvas = $("calibration");
    const { ctx, width, height } = fitCanvas(canvas);
    const left = 44, right = 20, top = 10, bottom = 34;
    const w = width - left - right, h = height - top - bottom;
    ctx.clearRect(0, 0, width, height);
    ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#5b6470"; ctx.strokeStyle = "#e3e7ec";
    for (let v = 0; v <= 1.001; v += 0.25) {
      const y = top + (1 - v) * h;
      ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + w, y); ctx.stroke();
      ctx.textAlign = "right"; ctx.fillText(`${v * 100}%`, left - 5, y + 4);
      ctx.textAlign = "center"; ctx.fillText(v.toFixed(2), left + v * w, height - 20);
    }
    ctx.fillText("how sure (the answer's output)", left + w / 2, height - 5);
    const most = Math.max(...c.bins.map((b) => b.count)) || 1;
    for (const b of c.bins) {
      if (!b.count) continue;
      const x0 = left + b.low * w + 1, x1 = left + b.high * w - 1;
      ctx.fillStyle = `rgba(47,111,235,${0.25 + 0.75 * Math.sqrt(b.count / most)})`;
      ctx.fillRect(x0, top + (1 - b.accuracy) * h, x1 - x0, b.accuracy * h);
    }
    ctx.strokeStyle = "#e8710a"; ctx.lineWidth = 1.5; ctx.setLineDash([5, 4]);
    ctx.beginPath(); ctx.moveTo(left, top + h); ctx.lineTo(left + w, top); ctx.stroke();
    ctx.setLineDash([]);
    canvas.dataset.bins = c.bins.filter((b) => b.count).length;
  }

  return {
    async show() {
      const version = lab.model().version;
      if (state.version === version) { drawMap(); return; }
      state.version = version;
      state.picked = null;
      layerOptions();
      await Promise.all([health(), map(), calibration()].map((p) => p.catch((error) => {
        $("inside-error").textContent = error.message; $("inside-error").hidden = false;
      })));
    },
    modelChanged() { state.version = null; },
  };
}
