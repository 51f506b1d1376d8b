// Colours and small pictures: a neuron's brightness, the red/blue of weights and nudges, images on canvases.

export const DARK = [38, 42, 50];
export const CLASS_COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#bab0ac"];

export function brightness(value) {      // 0..1 -> dark (off) to white (on): a neuron lights up
  const v = Math.max(0, Math.min(1, value));
  return DARK.map((lo) => Math.round(lo + (255 - lo) * v));
}

export function diverging(value) {       // -1..1 -> blue (negative), near-white (0), red (positive)
  const v = Math.max(-1, Math.min(1, value));
  const white = [247, 247, 247];
  const end = v < 0 ? [33, 102, 172] : [178, 24, 43];
  const t = Math.abs(v);
  return white.map((w, i) => Math.round(w + (end[i] - w) * t));
}

export function darkDiverging(value) {   // the same on the dark card: dark (0) to blue or red
  const v = Math.max(-1, Math.min(1, value));
  const end = v < 0 ? [80, 150, 255] : [255, 84, 84];
  const t = Math.sqrt(Math.abs(v));
  return DARK.map((d, i) => Math.round(d + (end[i] - d) * t));
}

export const css = (rgb) => `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;

export function absMax(values) {
  let top = 0;
  for (const v of values) if (Number.isFinite(v)) top = Math.max(top, Math.abs(v));
  return top;
}

// A side x side image, one canvas pixel per value (CSS scales it up, pixelated).
export function paintImage(canvas, values, side, colour) {
  canvas.width = side; canvas.height = side;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const rgb = colour(values[i]);
    image.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
}

// Values in a rows x columns strip (a neuron's weights from a layer that is not an image).
export function paintStrip(canvas, values, columns, colour) {
  const rows = Math.ceil(values.length / columns);
  canvas.width = columns; canvas.height = rows;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, columns, rows);
  values.forEach((v, j) => { ctx.fillStyle = css(colour(v)); ctx.fillRect(j % columns, Math.floor(j / columns), 1, 1); });
  return rows;
}

// A picture of signed values: an image for 28x28 shapes, else a strip; scaled by their largest |value|.
export function paintSigned(canvas, values, shape, scale = absMax(values) || 1) {
  const scaled = values.map((v) => v / scale);
  if (shape.length === 2) paintImage(canvas, scaled, shape[0], diverging);
  else paintStrip(canvas, scaled, Math.min(16, values.length), diverging);
  return scale;
}

// Size a picture of signed values on the page: an image 168 px wide, a strip in cells that fill
// up to 224 px of its container.
export function sizePicture(canvas, shape) {
  if (shape.length === 2) { canvas.style.width = canvas.style.height = "168px"; return; }
  const columns = Math.min(16, shape[0]), rows = Math.ceil(shape[0] / columns);
  const cell = Math.max(6, Math.floor(Math.min(224, canvas.parentElement.clientWidth - 4) / columns));
  canvas.style.width = `${columns * cell}px`; canvas.style.height = `${rows * cell}px`;
}

// A small digit (pixels 0..255) on a canvas.
export function digitCanvas(pixels, title = "") {
  const canvas = document.createElement("canvas");
  canvas.className = "thumb";
  paintImage(canvas, pixels.map((p) => p / 255), Math.round(Math.sqrt(pixels.length)), brightness);
  if (title) canvas.title = title;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", title || "a digit");
  return canvas;
}

// A canvas sized to its CSS box at the device's pixel ratio; returns its 2-D context in CSS pixels.
export function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = Math.max(1, Math.round(width * ratio)); canvas.height = Math.max(1, Math.round(height * ratio));
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, width, height };
}

// A round step (1, 2 or 5 times a power of ten) for about `count` ticks over `span`.
export function niceStep(span, count) {
  const raw = span / count, power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw);
}

// A histogram ({edges, counts}) as bars on a canvas, with the range under it.
export function drawHistogram(canvas, histogram, colour = "#2f6feb") {
  const { ctx, width, height } = fitCanvas(canvas);
  ctx.clearRect(0, 0, width, height);
  const { edges, counts } = histogram;
  if (!counts || !counts.length) { ctx.fillStyle = "#5b6470"; ctx.fillText("no finite values", 4, 14); return; }
  const top = Math.max(...counts) || 1, bottom = 14, bar = (width - 2) / counts.length;
  ctx.fillStyle = colour;
  counts.forEach((c, i) => {
    const h = (height - bottom - 2) * Math.sqrt(c / top);   // square root: the tails stay visible
    ctx.fillRect(1 + i * bar, height - bottom - h, Math.max(1, bar - 1), h);
  });
  ctx.fillStyle = "#5b6470"; ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "left"; ctx.fillText(fmtTick(edges[0]), 1, height - 2);
  ctx.textAlign = "right"; ctx.fillText(fmtTick(edges[edges.length - 1]), width - 1, height - 2);
  if (edges[0] < 0 && edges[edges.length - 1] > 0) {
    const x = 1 + (-edges[0]) / (edges[edges.length - 1] - edges[0]) * (width - 2);
    ctx.fillStyle = "#1f2328"; ctx.fillRect(x, 0, 1, height - bottom);
    ctx.textAlign = "center"; ctx.fillStyle = "#5b6470"; ctx.fillText("0", x, height - 2);
  }
}

export function fmtTick(v) {
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 1e4) ? v.toExponential(1) : String(+v.toFixed(2));
}
