// The feature maps of a convolutional network, beside the draw view (a piece of its own: look.js
// announces each forward pass it shows with the event "nnet:result"; this asks POST /api/feature-maps
// for the same input and draws every layer's maps, brightest where the feature was found).
"use strict";

(() => {
  const section = document.getElementById("feature-maps");
  const holder = document.getElementById("maps-layers");
  if (!section || !holder) return;
  const SCALE = 3;                 // screen pixels per map pixel (at least)
  let noMapsFor = null;            // a model version that has none: not asked again
  let pending = null, busy = false;

  document.addEventListener("nnet:result", (event) => {
    const result = event.detail;
    if (!result || !Array.isArray(result.input) || result.version === noMapsFor) return;
    pending = result;
    if (!busy) next();
  });

  async function next() {
    const result = pending;
    pending = null;
    if (!result) return;
    busy = true;
    try {
      const response = await fetch("/api/feature-maps", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ input: result.input }),
      });
      if (!response.ok) throw new Error((await response.json()).error || response.statusText);
      const answer = await response.json();
      if (!answer.layers.length) {
        noMapsFor = result.version;
        section.hidden = true;
      } else {
        draw(answer.layers);
        section.hidden = false;
      }
    } catch (error) {
      section.hidden = true;
    } finally {
      busy = false;
      if (pending) next();
    }
  }

  function draw(layers) {
    holder.replaceChildren(...layers.map((layer) => {
      const [channels, height, width] = layer.shape;
      const bytes = Uint8Array.from(atob(layer.data), (c) => c.charCodeAt(0));
      const row = document.createElement("div");
      row.className = "maps-layer";
      const title = document.createElement("p");
      title.className = "caption";
      title.textContent = `layer ${layer.index} (${layer.name}, ${layer.kind.replace("_", " ")}): ` +
        `${channels} maps of ${height}×${width}` + (layer.maps < channels ? `, the first ${layer.maps} shown` : "");
      row.append(title);
      const scale = Math.max(SCALE, Math.floor(48 / Math.max(height, width)));
      for (let map = 0; map < layer.maps; map++) {
        const canvas = document.createElement("canvas");
        canvas.width = width; canvas.height = height;
        canvas.style.width = `${width * scale}px`; canvas.style.height = `${height * scale}px`;
        canvas.title = `map ${map}: activations ${layer.low[map]} to ${layer.high[map]}`;
        const image = canvas.getContext("2d").createImageData(width, height);
        for (let i = 0; i < width * height; i++) {
          const value = bytes[map * width * height + i];
          image.data.set([value, value, value, 255], i * 4);
        }
        canvas.getContext("2d").putImageData(image, 0, 0);
        row.append(canvas);
      }
      return row;
    }));
  }
})();
