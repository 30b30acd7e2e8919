// Compare two frames side by side (Lightroom's Compare): fit, or 100 % of the originals with zoom and pan kept
// in step — scroll or drag one and the other follows to the same place.
import { S } from "./api.js";
import { $, imgUrl } from "./util.js";

const C = { frames: [], a: 0, b: 1, zoom: false, back: null, syncing: false };

// frames: [{id, name}], a and b: the two shown (indices into frames)
export function openCompare(frames, a, b) {
  Object.assign(C, { frames, a, b, zoom: false, back: document.activeElement });
  S.comparing = true;
  $("compare").hidden = false;
  $("compare").focus();
  render();
}

export function closeCompare() {
  if (!S.comparing) return;
  S.comparing = false;
  $("compare").hidden = true;
  if (C.back && C.back.focus) C.back.focus();
}

function render() {
  $("compare").classList.toggle("zoomed", C.zoom);
  $("c-zoom").textContent = C.zoom ? "Fit" : "100 %";
  $("c-zoom").setAttribute("aria-pressed", String(C.zoom));
  for (const [side, k] of [["a", C.a], ["b", C.b]]) {
    const f = C.frames[k];
    const img = $(`compare-img-${side}`);
    const want = C.zoom ? `/api/images/${f.id}/original` : imgUrl(f.id);
    if (!img.src.endsWith(want)) {
      img.onerror = C.zoom ? () => { img.onerror = null; img.src = imgUrl(f.id); } : null;   // not viewable: display size
      img.src = want;
    }
    img.alt = f.name;
    $(`compare-cap-${side}`).textContent = `${f.name}` + (f.note ? ` · ${f.note}` : "");
  }
  $("compare-title").textContent = `Compare ${C.frames[C.a].name} and ${C.frames[C.b].name}`;
  if (C.zoom) {                          // start both at the centre, once the originals know their size
    for (const side of ["a", "b"]) {
      const img = $(`compare-img-${side}`);
      const centre = () => { const p = $(`compare-${side}`); p.scrollLeft = (p.scrollWidth - p.clientWidth) / 2; p.scrollTop = (p.scrollHeight - p.clientHeight) / 2; };
      if (img.complete) centre(); else img.addEventListener("load", centre, { once: true });
    }
  }
}

// The other pane goes to the same place (as a share of what can be scrolled: frames of one burst have one size).
function follow(from, to) {
  if (C.syncing) return;
  C.syncing = true;
  const f = $(from), t = $(to);
  const fx = f.scrollWidth - f.clientWidth, fy = f.scrollHeight - f.clientHeight;
  t.scrollLeft = fx > 0 ? (f.scrollLeft / fx) * (t.scrollWidth - t.clientWidth) : 0;
  t.scrollTop = fy > 0 ? (f.scrollTop / fy) * (t.scrollHeight - t.clientHeight) : 0;
  requestAnimationFrame(() => { C.syncing = false; });
}

function draggable(pane) {
  let last = null;
  pane.addEventListener("pointerdown", (e) => { if (C.zoom) { last = [e.clientX, e.clientY]; pane.setPointerCapture(e.pointerId); } });
  pane.addEventListener("pointermove", (e) => {
    if (!last) return;
    pane.scrollLeft -= e.clientX - last[0]; pane.scrollTop -= e.clientY - last[1];
    last = [e.clientX, e.clientY];
  });
  for (const end of ["pointerup", "pointercancel"]) pane.addEventListener(end, () => { last = null; });
}

function other(step) {
  let k = C.b;
  do { k = (k + step + C.frames.length) % C.frames.length; } while (k === C.a && C.frames.length > 1);
  C.b = k;
  render();
}

function toggleZoom() { C.zoom = !C.zoom; render(); }

export function compareKeys(ev) {
  const k = ev.key;
  if (k === "Escape") closeCompare();
  else if (k === "z" || k === "Z") toggleZoom();
  else if (k === "ArrowRight") other(1);
  else if (k === "ArrowLeft") other(-1);
  else return false;
  return true;
}

export function bindCompare() {
  $("c-close").addEventListener("click", closeCompare);
  $("c-zoom").addEventListener("click", toggleZoom);
  $("compare-a").addEventListener("scroll", () => follow("compare-a", "compare-b"));
  $("compare-b").addEventListener("scroll", () => follow("compare-b", "compare-a"));
  draggable($("compare-a"));
  draggable($("compare-b"));
}
