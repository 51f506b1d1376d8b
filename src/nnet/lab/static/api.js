// Talking to the lab's server: every number the page shows comes from its JSON API (GET /api).

export const $ = (id) => document.getElementById(id);

export async function api(path, options = {}) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const error = new Error((body && body.error) || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

export function postJSON(path, data = {}) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
}

export function escapeHTML(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// A number as the page writes it: 3 decimals, or powers of ten for the very small and large.
export function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  const a = Math.abs(x);
  return a !== 0 && (a < 10 ** -digits || a >= 1e4) ? x.toExponential(2) : x.toFixed(digits);
}

// A number with `digits` significant digits (for small changes: 0.00310 to 0.00342).
export function sig(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-4) ? x.toExponential(digits - 1) : String(Number(x.toPrecision(digits)));
}

// Say something to screen readers (the page's one polite live region), once.
export function announce(text) {
  const region = $("announce");
  if (region.textContent === text) region.textContent = "";
  region.textContent = text;
}
