// The connections between two small layers: every weight a line from a neuron of the layer below
// to one of the layer above, colour = its sign (red +, blue -), thickness = its size. When a
// neuron is pointed at, its own connections light up and the rest fade.

import { absMax } from "./paint.js";

// The centre of each neuron (button) of layer l, in the root element's coordinates.
function centres(root, l) {
  const box = root.getBoundingClientRect();
  return [...root.querySelectorAll(`.neuron[data-layer="${l}"]`)].map((cell) => {
    const r = cell.getBoundingClientRect();
    return [r.left - box.left + r.width / 2, r.top - box.top + r.height / 2];
  });
}

// Every connection to draw: {layer, to, from, weight, strength (|w| / the layer's largest), a, b}.
// links: layer -> {weights (n_out rows of n_in), inputs, abs_max}; linked(l): is layer l drawn so.
export function segments(root, links, linked) {
  const out = [];
  for (const [l, data] of links) {
    if (!linked(l) || !data.weights) continue;
    const to = centres(root, l), from = centres(root, l - 1);
    if (to.length !== data.weights.length || from.length !== data.inputs) continue;
    const top = data.abs_max || absMax(data.weights.flat()) || 1;
    data.weights.forEach((row, j) => row.forEach((w, k) => out.push(
      { layer: l, to: j, from: k, weight: w, strength: Math.abs(w) / top, a: from[k], b: to[j] })));
  }
  return out;
}

// Draw them on the canvas that covers the root; focus: {layer, index} pointed at, or null.
export function drawConnections(canvas, root, all, focus) {
  const ratio = window.devicePixelRatio || 1;
  const width = root.scrollWidth, height = root.scrollHeight;
  canvas.style.width = `${width}px`; canvas.style.height = `${height}px`;
  canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const f = focus;
  const lit = (s) => f && ((f.layer === s.layer && f.index === s.to) || (f.layer === s.layer - 1 && f.index === s.from));
  canvas.dataset.links = all.length;
  for (const pass of [false, true]) {      // the faint ones first, the lit ones on top
    for (const s of all) {
      if (Boolean(lit(s)) !== pass) continue;
      const alpha = f ? (pass ? 0.3 + 0.7 * s.strength : 0.05) : 0.1 + 0.55 * s.strength;
      ctx.strokeStyle = s.weight >= 0 ? `rgba(255,84,84,${alpha})` : `rgba(80,150,255,${alpha})`;
      ctx.lineWidth = 0.4 + 3.2 * s.strength;
      ctx.beginPath(); ctx.moveTo(s.a[0], s.a[1]); ctx.lineTo(s.b[0], s.b[1]); ctx.stroke();
    }
  }
}

// The connection nearest a point on the screen, within a few pixels (or null).
export function connectionAt(root, all, clientX, clientY) {
  const box = root.getBoundingClientRect();
  const x = clientX - box.left, y = clientY - box.top;
  let best = null, bestDistance = 6;
  for (const s of all) {
    const d = distance(x, y, s.a, s.b);
    if (d < bestDistance) { best = s; bestDistance = d; }
  }
  return best;
}

function distance(x, y, a, b) {   // from (x, y) to the segment a-b
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const t = Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(x - a[0] - t * dx, y - a[1] - t * dy);
}
