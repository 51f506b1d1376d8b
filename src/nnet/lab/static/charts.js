// Line charts over the epochs of a run, their axes fitted to the data (so a gap between two
// lines shows), on a linear scale or a log one (where 0 lies on the floor).

import { fitCanvas, niceStep } from "./paint.js";

// lines: [{points: [[x, y], ...], colour, dots}]; options: {epochs, percent, log}
export function drawLines(canvas, lines, { epochs = 1, percent = false, log = false } = {}) {
  if (!canvas.clientWidth) return;
  const { ctx, width, height } = fitCanvas(canvas);
  const left = 54, right = 14, top = 12, bottom = 36;
  const scale = log ? (v) => Math.log10(v) : (v) => v;
  const values = lines.flatMap((line) => line.points.map((p) => p[1])).filter((v) => Number.isFinite(v) && (!log || v > 0));
  let low = values.length ? Math.min(...values.map(scale)) : 0, high = values.length ? Math.max(...values.map(scale)) : 1;
  if (high - low < 1e-6) { low -= log ? 0.5 : 0.01; high += log ? 0.5 : 0.01; }
  const step = log ? 1 : niceStep(high - low, 4);
  low = Math.floor(low / step + 1e-9) * step;
  high = Math.ceil(high / step - 1e-9) * step;
  const x = (v) => left + (v / epochs) * (width - left - right);
  // on a log scale, 0 (a layer with no gradient at all) lies on the floor of the chart
  const y = (v) => top + (1 - (log && v <= 0 ? 0 : (scale(v) - low) / (high - low))) * (height - top - bottom);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#5b6470"; ctx.strokeStyle = "#e3e7ec"; ctx.lineWidth = 1;
  const decimals = Math.max(0, -Math.floor(Math.log10(percent ? step * 100 : step)));
  for (let v = low; v <= high + step / 2; v += step) {
    const at = top + (1 - (v - low) / (high - low)) * (height - top - bottom);
    ctx.beginPath(); ctx.moveTo(left, at); ctx.lineTo(width - right, at); ctx.stroke();
    ctx.textAlign = "right";
    const label = log ? `${v === low ? "≤ " : ""}1e${Math.round(v)}` : percent ? `${(v * 100).toFixed(decimals)}%` : v.toFixed(decimals);
    ctx.fillText(label, left - 6, at + 4);
  }
  ctx.textAlign = "center";
  const every = Math.max(1, Math.ceil(epochs / 10));
  for (let e = 0; e <= epochs; e += every) ctx.fillText(String(e), x(e), height - 20);
  ctx.fillText("epochs", left + (width - left - right) / 2, height - 5);
  let count = 0;
  for (const line of lines) {
    const points = line.points.filter((p) => Number.isFinite(p[1]) && (!log || p[1] >= 0));
    count += points.length;
    ctx.strokeStyle = ctx.fillStyle = line.colour;
    if (line.dots) {
      for (const p of points) { ctx.beginPath(); ctx.arc(x(p[0]), y(p[1]), 4, 0, 2 * Math.PI); ctx.fill(); }
      continue;
    }
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    points.forEach((p, k) => (k ? ctx.lineTo(x(p[0]), y(p[1])) : ctx.moveTo(x(p[0]), y(p[1]))));
    ctx.stroke();
  }
  canvas.dataset.points = count;
}
