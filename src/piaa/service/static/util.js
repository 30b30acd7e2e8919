// DOM and wording helpers every screen uses; no state, no requests.
export const $ = (id) => document.getElementById(id);
export const PAGE = 24;               // tiles per request: /api/ranking is paged, never asked for everything
export const LABEL_KEYS = { "6": "red", "7": "yellow", "8": "green", "9": "blue" };

export function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}
export const imgUrl = (id, size) => `/api/images/${id}` + (size ? `?size=${size}` : "");
export const starsText = (r) => r == null ? "–" : "★".repeat(Math.round(r));
export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
export function basisText(p) {
  return plural(p.n_ratings, "rating") + (p.n_comparisons ? ` + ${plural(p.n_comparisons, "comparison")}` : "");
}

// A photo that cannot be shown says so (and why), instead of vanishing.
async function brokenReason(id) {
  try {
    const r = await fetch(imgUrl(id, "thumb"), { credentials: "same-origin" });
    if (r.ok) return "could not be shown";
    const d = await r.json();
    return typeof d.detail === "string" ? d.detail : "could not be shown";
  } catch (e) { return "could not be shown"; }
}
export function brokenTile(text) { return el("p", { class: "broken", text: "⚠ " + text }); }
export function guardImage(img, id, onBroken) {
  img.addEventListener("error", async () => { onBroken(await brokenReason(id)); }, { once: true });
}

export function bar(share) {          // CSSOM, not a style attribute: the page's CSP allows no inline styles
  const d = el("div");
  d.style.width = `${Math.round(100 * share)}%`;
  return d;
}

// A phone-sized screen (the layout's breakpoint) and a touch screen (no keyboard hints there).
export const narrow = () => window.matchMedia("(max-width: 600px)").matches;

// A horizontal swipe on `node`: onStep(+1) for right-to-left (the next photo), onStep(-1) for left-to-right.
export function onSwipe(node, onStep) {
  let x0 = null, y0 = 0;
  node.addEventListener("touchstart", (e) => {
    if (e.touches.length !== 1) { x0 = null; return; }
    x0 = e.touches[0].clientX; y0 = e.touches[0].clientY;
  }, { passive: true });
  node.addEventListener("touchend", (e) => {
    if (x0 == null) return;
    const t = e.changedTouches[0];
    const dx = t.clientX - x0, dy = t.clientY - y0;
    x0 = null;
    if (Math.abs(dx) > 50 && Math.abs(dx) > 1.5 * Math.abs(dy)) onStep(dx < 0 ? 1 : -1);
  }, { passive: true });
}
